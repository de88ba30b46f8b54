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
 * recorded like the mutator's.
 */
public final class UffdStrategy implements WriteBarrierStrategy {
  /** Probed once per process: the kernel does not change under us. */
  private static volatile Availability cached;

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
    Availability a = cached;
    if (a == null) {
      a = probe();
      cached = a;
    }
    return a;
  }

  private static Availability probe() {
    try {
      Prot.setup();
      String why = UffdTracking.unavailableReason();
      return why == null ? Availability.yes(UffdTracking.detail()) : Availability.no(why);
    } catch (RuntimeException | LinkageError e) {
      return Availability.no("the protection module cannot start: " + e.getMessage());
    }
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
     * Pages a failed harvest had already collected from the kernel (the shim reports them even
     * when its scan fails: coarser, never lost); reported by the next harvest. Guarded by the
     * harvest serialisation of {@link AbstractTracker}.
     */
    private final BitSet unreported = new BitSet();

    UffdTracker(Region region, long page) {
      super(region, "uffd", page);
    }

    @Override
    BitSet harvestGranules() {
      BitSet dirty = UffdTracking.harvest(region(), slot, 0, region().pages(), unreported);
      dirty.or(unreported);
      unreported.clear();
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
