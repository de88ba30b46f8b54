package org.mpsprot.gc;

/**
 * The heap's object model (docs/barriers.md .heap.object). Every object is a run of 64-bit
 * words in the platform's byte order, 8-byte aligned, at a mutator-view address:
 *
 * <pre>
 *   word 0            header
 *   words 1 .. r      reference slots: the mutator-view address of an object, or 0 (null)
 *   words r+1 .. n-1  raw data: 64-bit values the collector never interprets
 *
 *   header, live object:  bits 63..32 size n in words (header included, 1 .. 2^31-1)
 *                         bits 31..16 number r of reference slots (0 .. 65535, r &lt; n)
 *                         bits 15..3  type (0 .. 8191; 0 is a filler the collector writes)
 *                         bits  2..0  001
 *   header, forwarded:    bits 63..3  the address of the copy (8-aligned), bits 2..0 011
 *   poison:               {@link #POISON}: tag 000, never a header; evacuated space is
 *                         filled with it so that a stale reference is caught
 * </pre>
 *
 * <p>All methods are pure functions of their arguments; thread-safe.
 */
public final class ObjectLayout {
  /** Bytes per word. */
  public static final int WORD = 8;
  /** The type of the filler objects the collector writes to pad a page; never the mutator's. */
  public static final int FILLER = 0;
  public static final int MAX_TYPE = (1 << 13) - 1;
  public static final int MAX_REFS = (1 << 16) - 1;
  /** The word evacuated memory is filled with; its tag (000) is neither object nor forwarded. */
  public static final long POISON = 0xBAD0BAD0BAD0BAD0L;

  private static final long TAG_MASK = 7;
  private static final long TAG_OBJECT = 1;
  private static final long TAG_FORWARDED = 3;

  private ObjectLayout() {}

  /**
   * The header of an object of {@code sizeWords} words with {@code refs} reference slots.
   *
   * @throws IllegalArgumentException if a field is out of range or {@code refs >= sizeWords}
   */
  public static long header(int type, int refs, int sizeWords) {
    if (type < 0 || type > MAX_TYPE || refs < 0 || refs > MAX_REFS || sizeWords < 1 || refs >= sizeWords) {
      throw new IllegalArgumentException("no object has type " + type + ", " + refs + " references and "
          + sizeWords + " words: allowed type 0.." + MAX_TYPE + ", references 0.." + MAX_REFS
          + ", size > references");
    }
    return ((long) sizeWords << 32) | ((long) refs << 16) | ((long) type << 3) | TAG_OBJECT;
  }

  /** Whether {@code header} is a live object's header. */
  public static boolean isObject(long header) {
    return (header & TAG_MASK) == TAG_OBJECT && sizeWords(header) > refs(header);
  }

  /** Whether {@code header} was replaced by a forwarding address. */
  public static boolean isForwarded(long header) {
    return (header & TAG_MASK) == TAG_FORWARDED;
  }

  /** The forwarding header that points at {@code copy}. */
  public static long forwarding(long copy) {
    if ((copy & TAG_MASK) != 0) {
      throw new IllegalArgumentException(String.format("copy address 0x%x is not 8-aligned", copy));
    }
    return copy | TAG_FORWARDED;
  }

  /** The copy's address in a forwarding header. */
  public static long forwardee(long header) {
    return header & ~TAG_MASK;
  }

  public static int sizeWords(long header) {
    return (int) (header >>> 32);
  }

  public static int refs(long header) {
    return (int) ((header >>> 16) & 0xFFFF);
  }

  public static int type(long header) {
    return (int) ((header >>> 3) & MAX_TYPE);
  }

  /** The words an object with {@code refs} references and {@code data} data words takes. */
  public static int sizeWords(int refs, int data) {
    long n = 1L + refs + data;
    if (refs < 0 || data < 0 || n > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("object with " + refs + " references and " + data + " data words");
    }
    return (int) n;
  }

  /** The address of reference slot {@code i} of the object at {@code object}. */
  public static long refSlot(long object, int i) {
    return object + (long) WORD * (1 + i);
  }

  /** The address of data word {@code i} of the object at {@code object} with {@code refs} slots. */
  public static long dataSlot(long object, int refs, int i) {
    return object + (long) WORD * (1 + refs + i);
  }

  /** A readable description of a header word. */
  public static String describe(long header) {
    if (isForwarded(header)) {
      return String.format("forwarded to 0x%x", forwardee(header));
    }
    if (header == POISON) {
      return "POISON (evacuated memory)";
    }
    if (!isObject(header)) {
      return String.format("0x%x, not a header", header);
    }
    return "type " + type(header) + ", " + refs(header) + " refs, " + sizeWords(header) + " words";
  }
}
