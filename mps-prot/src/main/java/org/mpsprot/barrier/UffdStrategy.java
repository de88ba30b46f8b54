package org.mpsprot.barrier;

import java.util.BitSet;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.os.linux.UffdTracking;

/**
 * userfaultfd write-protect in async mode with PAGEMAP_SCAN (docs/barriers.md .strategy.uffd;
 * Linux 6.7+, built for Wine's GetWriteWatch and for CRIU): the region's mutator view is
 * registered for write-protection; the kernel resolves the first write to a protected page by
 * itself, with no signal, and marks the page written; {@link Tracker#harvest()} is one
 * PAGEMAP_SCAN ioctl that reports the written pages and write-protects them again, atomically
 * per page.
 *
 * <p>Needs privilege where {@code vm.unprivileged_userfaultfd=0} (root, CAP_SYS_PTRACE, or
 * UFFD_USER_MODE_ONLY, which the shim tries). The region's protection and barrier policy are
 * left alone. Kernel writes into a tracked page (a system call's buffer) are resolved and
 * recorded like the mutator's, except writes through a reference the kernel holds pinned (an
 * io_uring registered buffer): those are not seen; see {@link Tracker#pinForKernel}.
 */
public final class UffdStrategy implements WriteBarrierStrategy {
  /**
   * Probed once per process (the kernel does not change under us), except that a probe that
   * failed for want of descriptors or memory is asked again next time (ProbeCache).
   */
  private static final ProbeCache AVAILABILITY = new ProbeCache(UffdTracking::probe);

  @Override
  public String name() {
    return "uffd";
  }

  @Override
  public String description() {
    return "userfaultfd async write-protect: the kernel records the page, PAGEMAP_SCAN harvests";
  }

  @Override
  public Availability availability() {
    return AVAILABILITY.get();
  }

  @Override
  public Tracker attach(Region region) {
    requireAvailable();
    return AbstractTracker.claimAndArm(new UffdTracker(region, Prot.setup().granularity()),
        t -> t.slot = UffdTracking.attach(region));
  }

  private static final class UffdTracker extends AbstractTracker {
    /** The region's shim slot, or -1 while not attached. */
    private int slot = -1;
    /**
     * Pages a failed harvest got from the shim (re-protected or maybe re-protected, so the
     * kernel no longer reports them) but could not return: the next harvest reports them.
     * Harvests are serialised by AbstractTracker.
     */
    private final BitSet owed = new BitSet();

    UffdTracker(Region region, long page) {
      super(region, "uffd", page);
    }

    @Override
    BitSet harvestGranules() {
      BitSet dirty = (BitSet) owed.clone();
      owed.clear();
      try {
        UffdTracking.harvest(region(), slot, 0, region().pages(), dirty);
      } catch (RuntimeException e) {
        owed.or(dirty); // nothing lost: reported by the next harvest that succeeds
        throw e;
      }
      countHits(dirty.cardinality());
      return dirty;
    }

    @Override
    public void onStore(long address) {
      // The kernel sees the store.
    }

    @Override
    void release() {
      if (slot >= 0) {
        int s = slot;
        slot = -1;
        UffdTracking.detach(region(), s);
      }
    }
  }
}
