package org.mpsprot;

/**
 * A queue of ProtSet requests applied together by {@link #apply()}: the result is as if each
 * request had been applied in the order given, made with as few OS calls as possible (sorted,
 * later requests overriding earlier ones where they overlap, adjacent runs of equal mode in one
 * region joined). Each request is checked when queued, so a bad one is reported at its own
 * call. Not thread-safe: one thread fills and applies a batch.
 */
public interface ProtBatch {
  /** Queues ProtSet on {@code [base, limit)}; checked now, applied by {@link #apply()}. */
  ProtBatch set(long base, long limit, AccessSet mode);

  /**
   * Applies the queued requests and empties the batch.
   *
   * @return the number of OS calls made
   * @throws ProtOsException if the OS refused one; the runs applied before it stay applied and
   *     recorded, the failed run is undone
   */
  int apply();
}
