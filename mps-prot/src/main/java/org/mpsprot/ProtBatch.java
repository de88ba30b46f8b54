package org.mpsprot;

/**
 * A queue of ProtSet requests applied together by {@link #apply()}: the result is as if each
 * request had been applied in the order given, made with as few OS calls as possible (sorted,
 * later requests overriding earlier ones where they overlap, adjacent runs of equal mode in one
 * region joined). Each request is checked when queued, so a bad one is reported at its own
 * call. Not thread-safe: one thread fills and applies a batch.
 *
 * <p>Order and failure (docs/design/prot.md .sol.batch): {@link #apply()} first checks every
 * region the requests name (a region closed since its requests were queued refuses the whole
 * batch before any OS call, so nothing is applied to any region), then makes one OS call per
 * run in ascending address order: regions by base address, and the runs of a region by
 * address. If the OS refuses a run, that run is undone (its pages keep their previous
 * protection, record and OS alike), the runs before it stay applied and recorded, the runs
 * after it are not applied, and {@link #applied()} lists exactly the runs applied.
 */
public interface ProtBatch {
  /** One OS call of a batch: ProtSet on {@code [base, limit)} with {@code mode}. */
  record Run(long base, long limit, AccessSet mode) {
    @Override
    public String toString() {
      return String.format("[0x%x, 0x%x) %s", base, limit, mode);
    }
  }

  /** Queues ProtSet on {@code [base, limit)}; checked now, applied by {@link #apply()}. */
  ProtBatch set(long base, long limit, AccessSet mode);

  /**
   * Applies the queued requests in ascending address order and empties the batch (whether it
   * succeeds or throws).
   *
   * @return the number of OS calls made
   * @throws RegionClosedException if a region the requests name was closed after they were
   *     queued; checked before any OS call, so nothing was applied to any region
   * @throws ProtOsException if the OS refused a run; the runs before it (lower addresses) stay
   *     applied and recorded, the failed run is undone, the runs after it are not applied.
   *     {@link #applied()} lists the runs applied, and a suppressed exception says the same
   */
  int apply();

  /**
   * The runs the last {@link #apply()} made, in the order made (ascending address): after a
   * success, every run; after an OS failure, the runs before the failed one; after a refusal for
   * a closed region, or before any apply, none.
   */
  java.util.List<Run> applied();
}
