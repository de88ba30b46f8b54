package org.mpsprot.barrier;

import org.mpsprot.Region;

/**
 * A way of answering "which parts of this region were written since I last asked?"
 * (docs/barriers.md .strategy). Implementations: {@link FaultStrategy} (protection faults),
 * {@link UffdStrategy} (userfaultfd write-protect in async mode with PAGEMAP_SCAN),
 * {@link SoftDirtyStrategy} (Linux soft-dirty bits) and {@link CardMarkingStrategy} (a card
 * table marked by the mutator's store path); {@link Strategies} lists them.
 *
 * <p>Thread-safety: a strategy is immutable and may be shared; {@link #availability()} may
 * probe the kernel and is safe to call from any thread.
 */
public interface WriteBarrierStrategy {
  /** A short, stable name ("fault", "uffd", "soft-dirty", "cards"), used on the command line. */
  String name();

  /** A one-line description for tables and docs. */
  String description();

  /**
   * Whether the strategy works on this machine, with the reason (probed at run time, never
   * assumed from a kernel version). The answer may be cached after the first call, but an
   * answer "unavailable" caused by a shortage that may pass (the process was out of file
   * descriptors or memory while probing) is never cached: the next call probes again.
   */
  Availability availability();

  /**
   * Starts tracking writes to the mutator's view of {@code region}: from this call on, every
   * write to it is reported by a later {@link Tracker#harvest()} (for card marking, every write
   * whose store path called {@link Tracker#onStore(long)}). Writes through the region's alias
   * view are never reported. At most one tracker may be attached to a region at a time.
   *
   * @throws StrategyUnavailableException if {@link #availability()} says no
   * @throws IllegalStateException if a tracker is attached to the region already
   */
  Tracker attach(Region region);

  /**
   * Whether {@link Tracker#harvest()} must run while no mutator thread writes to the region
   * (the harvest cannot re-arm atomically). False for every strategy but soft-dirty.
   */
  default boolean harvestNeedsStoppedMutators() {
    return false;
  }

  /**
   * Whether every store through the store path is a barrier hit (card marking), rather than
   * only the first write to a re-armed granule (the hardware strategies).
   */
  default boolean hitsEveryStore() {
    return false;
  }

  /**
   * Throws {@link StrategyUnavailableException} with the reason when {@link #availability()}
   * says no; the first step of every {@link #attach}.
   */
  default void requireAvailable() {
    Availability a = availability();
    if (!a.available()) {
      throw new StrategyUnavailableException(name(), a);
    }
  }
}
