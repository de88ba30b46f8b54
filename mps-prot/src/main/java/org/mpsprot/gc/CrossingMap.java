package org.mpsprot.gc;

import java.util.Arrays;

/**
 * The object-start (crossing) map of a space that is allocated linearly: for each block of
 * {@link #BLOCK} bytes, the offset of the object that covers the block's first byte (it starts
 * there or earlier). With it a collector can scan any dirty granule of at least a block: start
 * at the covering object and walk headers (docs/barriers.md .heap.crossing).
 *
 * <p>Not thread-safe: the owning collector serialises access.
 */
final class CrossingMap {
  /** Bytes per block: the smallest granule a tracker reports (a 512-byte card). */
  static final int BLOCK = 512;

  private final int[] covering;

  CrossingMap(long spaceSize) {
    covering = new int[(int) ((spaceSize + BLOCK - 1) / BLOCK)];
    clear();
  }

  void clear() {
    Arrays.fill(covering, -1);
  }

  /** Records an object occupying offsets {@code [start, end)}. */
  void record(long start, long end) {
    for (long b = (start + BLOCK - 1) / BLOCK; b * BLOCK < end; b++) {
      covering[(int) b] = (int) start;
    }
  }

  /** The offset of the object covering {@code offset}'s block start, or -1 if none. */
  long coveringBlockOf(long offset) {
    return covering[(int) (offset / BLOCK)];
  }
}
