package org.mpsprot.gc;

/**
 * Sizes of a heap's spaces, in bytes (each rounded up to the page size by the module), and
 * whether to verify against the shadow model after every collection.
 *
 * @param nurseryBytes the generational nursery
 * @param oldBytes each of the two old semispaces of the generational heap
 * @param semispaceBytes each of the two semispaces of the read-barrier heap
 * @param verify keep the shadow model and verify after every collection (and every flip)
 */
public record HeapConfig(long nurseryBytes, long oldBytes, long semispaceBytes, boolean verify) {
  public HeapConfig {
    if (nurseryBytes <= 0 || oldBytes <= 0 || semispaceBytes <= 0) {
      throw new IllegalArgumentException("space sizes must be positive: " + nurseryBytes + ", " + oldBytes
          + ", " + semispaceBytes);
    }
  }

  /** 2 MiB nursery, 32 MiB old semispaces, 32 MiB read-barrier semispaces, verifying. */
  public static HeapConfig defaults() {
    return new HeapConfig(2L << 20, 32L << 20, 32L << 20, true);
  }

  public HeapConfig withVerify(boolean v) {
    return new HeapConfig(nurseryBytes, oldBytes, semispaceBytes, v);
  }
}
