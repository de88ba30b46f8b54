package org.mpsprot.gc;

/**
 * Copying through the alias views (docs/barriers.md .heap.copy): {@link #forward} copies an
 * object out of a from-space into the target space at its bump pointer (once: the from-space
 * header becomes a forwarding address), and the scan methods forward every reference slot of
 * objects in the target. Both collectors use it: the generational one to promote the nursery
 * (and, in a major collection, to compact the old generation), the incremental one to copy from
 * from-space to to-space page by page.
 *
 * <p>Nothing here touches a mutator view, so it runs whatever the mutator's protection, and
 * the hardware strategies never see the collector's writes. Not thread-safe: the collector
 * serialises use.
 */
final class Evacuator {
  private final Space target;
  private final CrossingMap targetMap;
  private final Space[] from;
  private long objectsCopied;
  private long bytesCopied;

  Evacuator(Space target, CrossingMap targetMap, Space... from) {
    this.target = target;
    this.targetMap = targetMap;
    this.from = from;
  }

  long objectsCopied() {
    return objectsCopied;
  }

  long bytesCopied() {
    return bytesCopied;
  }

  private Space fromSpaceOf(long ref) {
    for (Space s : from) {
      if (s.contains(ref)) {
        return s;
      }
    }
    return null;
  }

  /**
   * The address {@code ref} must hold after this collection: its copy in the target when it
   * points into a from-space (copying it now if it was not yet), else {@code ref} itself.
   *
   * @throws HeapVerificationException if ref points at something that is not an object there
   * @throws HeapExhaustedException if the target is full
   */
  long forward(long ref) {
    if (ref == 0) {
      return 0;
    }
    Space s = fromSpaceOf(ref);
    if (s == null) {
      return ref;
    }
    long header = (ref & 7) == 0 ? s.aliasLoad(ref) : 0;
    if (ObjectLayout.isForwarded(header)) {
      return ObjectLayout.forwardee(header);
    }
    if ((ref & 7) != 0 || !s.isAllocated(ref) || !ObjectLayout.isObject(header)) {
      throw new HeapVerificationException(String.format(
          "a reference to 0x%x in %s finds %s: a stale reference, or a slot the barrier did not report",
          ref, s.name, ObjectLayout.describe(header)));
    }
    int words = ObjectLayout.sizeWords(header);
    long bytes = (long) words * ObjectLayout.WORD;
    long copy = target.bump(bytes);
    if (copy == 0) {
      throw new HeapExhaustedException("copying a " + bytes + "-byte object into " + target
          + " found it full: the live data do not fit; give the heap more room");
    }
    target.copyFrom(s, ref, copy, words);
    s.aliasStore(ref, ObjectLayout.forwarding(copy));
    targetMap.record(copy - target.base, copy - target.base + bytes);
    objectsCopied++;
    bytesCopied += bytes;
    return copy;
  }

  /** Forwards the reference slots of the object at {@code object} (in the target) in {@code [lo, hi)}. */
  void scanSlots(long object, long header, long lo, long hi) {
    int refs = ObjectLayout.refs(header);
    long first = Math.max(lo, ObjectLayout.refSlot(object, 0));
    long limit = Math.min(hi, ObjectLayout.refSlot(object, refs));
    for (long slot = first; slot < limit; slot += ObjectLayout.WORD) {
      long v = target.aliasLoad(slot);
      long nv = forward(v);
      if (nv != v) {
        target.aliasStore(slot, nv);
      }
    }
  }

  /**
   * Forwards every reference slot of the target that lies in the addresses {@code [lo, hi)},
   * finding the objects there with the crossing map. Objects below the target's top only.
   */
  void scanRange(long lo, long hi) {
    long covering = targetMap.coveringBlockOf(lo - target.base);
    if (covering < 0) {
      return;
    }
    long object = target.base + covering;
    while (object < hi && object < target.topAddress()) {
      long header = target.aliasLoad(object);
      if (!ObjectLayout.isObject(header)) {
        throw new HeapVerificationException(String.format(
            "scanning [0x%x, 0x%x) of %s: 0x%x holds %s, not an object header: the crossing map or"
                + " the heap is corrupt", lo, hi, target.name, object, ObjectLayout.describe(header)));
      }
      scanSlots(object, header, lo, hi);
      object += (long) ObjectLayout.sizeWords(header) * ObjectLayout.WORD;
    }
  }

  /** Cheney's scan: forwards every slot of the target from {@code scan} until it meets the top. */
  void scanFrom(long scan) {
    while (scan < target.topAddress()) {
      long header = target.aliasLoad(scan);
      scanSlots(scan, header, scan, Long.MAX_VALUE);
      scan += (long) ObjectLayout.sizeWords(header) * ObjectLayout.WORD;
    }
  }
}
