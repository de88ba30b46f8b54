package org.mpsprot.barrier;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.BitSet;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * Software card marking (docs/barriers.md .strategy.cards; what HotSpot does): the region is
 * divided into cards of {@link #cardSize()} bytes with one byte each in a card table; the
 * mutator's store path ({@link Tracker#onStore}) marks the card of the address it stored to,
 * and {@link Tracker#harvest()} reports and clears the marked cards. The baseline every
 * hardware strategy is held against: it needs no kernel support, but every store pays for it,
 * and a write the store path does not see (the kernel's, or a store that forgot to call
 * {@code onStore}) is missed unless {@link Tracker#prepareForSyscall} marks it.
 *
 * <p>Memory ordering: the mark is a release store after the mutator's store; the harvest clears
 * each marked card with an atomic exchange (a volatile read-modify-write), so that a harvester
 * that sees a mark also sees the store before it, and a mark made after the exchange stays for
 * the next harvest. Always available.
 */
public final class CardMarkingStrategy implements WriteBarrierStrategy {
  /** The card size HotSpot uses. */
  public static final int DEFAULT_CARD = 512;

  private static final VarHandle CARDS = MethodHandles.arrayElementVarHandle(byte[].class);
  /** Eight cards at a time, plain reads: a filter only (a mark it misses stays for the next harvest). */
  private static final VarHandle EIGHT = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());

  private final int cardSize;

  /** Cards of {@link #DEFAULT_CARD} bytes. */
  public CardMarkingStrategy() {
    this(DEFAULT_CARD);
  }

  /**
   * Cards of {@code cardSize} bytes: a power of two, at least 8, at most the page size.
   *
   * @throws IllegalArgumentException otherwise
   */
  public CardMarkingStrategy(int cardSize) {
    if (cardSize < 8 || Integer.bitCount(cardSize) != 1) {
      throw new IllegalArgumentException("card size " + cardSize + " must be a power of two >= 8");
    }
    this.cardSize = cardSize;
  }

  public int cardSize() {
    return cardSize;
  }

  @Override
  public String name() {
    return "cards";
  }

  @Override
  public String description() {
    return "software card marking: the store path marks a " + cardSize + "-byte card";
  }

  @Override
  public Availability availability() {
    return Availability.yes("pure Java: a byte per " + cardSize + "-byte card, marked by the store path");
  }

  /** True: the store path marks a card at every store. */
  @Override
  public boolean hitsEveryStore() {
    return true;
  }

  @Override
  public Tracker attach(Region region) {
    long page = Prot.setup().granularity();
    if (cardSize > page) {
      throw new IllegalArgumentException("card size " + cardSize + " exceeds the page size " + page);
    }
    long cards = region.size() / cardSize;
    if (cards > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("region " + region + " needs more than 2^31 cards");
    }
    CardTracker t = new CardTracker(region, cardSize, (int) cards);
    AbstractTracker.claim(t);
    return t;
  }

  private static final class CardTracker extends AbstractTracker {
    private final byte[] cards;
    private final long base;
    private final long size;
    private final int shift;
    /**
     * Stores seen, counted with a plain increment: the store path stays one compare and two
     * stores. Several threads storing at once may lose counts (a statistic, never a mark).
     */
    private long stores;

    CardTracker(Region region, int cardSize, int count) {
      super(region, "cards", cardSize);
      this.cards = new byte[count];
      this.base = region.base();
      this.size = region.size();
      this.shift = Integer.numberOfTrailingZeros(cardSize);
    }

    @Override
    public void onStore(long address) {
      long offset = address - base;
      if (offset >= 0 && offset < size) {
        CARDS.setRelease(cards, (int) (offset >>> shift), (byte) 1);
        stores++;
      }
    }

    @Override
    BitSet harvestGranules() {
      BitSet out = new BitSet(cards.length);
      int i = 0;
      for (; i + 8 <= cards.length; i += 8) {
        if ((long) EIGHT.get(cards, i) != 0) {
          for (int j = i; j < i + 8; j++) {
            clearInto(j, out);
          }
        }
      }
      for (; i < cards.length; i++) {
        clearInto(i, out);
      }
      return out;
    }

    /** Clears card i if marked, with an atomic exchange, and reports it. */
    private void clearInto(int i, BitSet out) {
      if ((byte) CARDS.getOpaque(cards, i) != 0 && (byte) CARDS.getAndSet(cards, i, (byte) 0) != 0) {
        out.set(i);
      }
    }

    @Override
    void prepareGranules(long first, long limit) {
      mark(first, limit);
    }

    @Override
    void afterSyscall(long first, long limit) {
      mark(first, limit);
    }

    private void mark(long first, long limit) {
      for (long c = first; c < limit; c++) {
        CARDS.setRelease(cards, (int) c, (byte) 1);
      }
    }

    /** Every {@link #onStore} in the region is a hit (approximate under concurrent stores). */
    @Override
    public long hits() {
      return stores;
    }

    @Override
    void release() {
      // Nothing to undo: the card table is dropped with the tracker.
    }
  }
}
