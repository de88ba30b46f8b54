package org.mpsprot.barrier;

import java.util.BitSet;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * Protection faults (docs/barriers.md .strategy.fault; MPS, bdwgc MPROTECT_VDB): the region's
 * mutator view is write-protected with the {@link BarrierPolicy#UNPROTECT} policy, the module's
 * handler opens a page at its first write and records it dirty, and {@link Tracker#harvest()} is
 * {@link Region#harvest(AccessSet) Region.harvest(WRITE)}, which reports the dirty pages and
 * write-protects them again atomically (docs/design/fault.md .sol.harvest).
 *
 * <p>Safe for JIT-compiled Java mutators: no Java runs on the fault path. A write made by the
 * kernel into a protected page (a system call's buffer) is refused with EFAULT; use
 * {@link Tracker#prepareForSyscall}. Every page opened between harvests splits a mapping:
 * {@code vm.max_map_count} bounds the number of dirty pages between harvests.
 */
public final class FaultStrategy implements WriteBarrierStrategy {
  @Override
  public String name() {
    return "fault";
  }

  @Override
  public String description() {
    return "protection faults: write-protect, the SIGSEGV handler opens and records the page";
  }

  @Override
  public Availability availability() {
    try {
      Prot prot = Prot.setup();
      return Availability.yes("the module's SIGSEGV handler with the UNPROTECT policy (granule "
          + prot.granularity() + " bytes)");
    } catch (RuntimeException | LinkageError e) {
      return Availability.no("the protection module cannot start: " + e.getMessage());
    }
  }

  @Override
  public Tracker attach(Region region) {
    requireAvailable();
    return AbstractTracker.claimAndArm(new FaultTracker(region, Prot.setup().granularity()), t -> {
      region.setPolicy(BarrierPolicy.UNPROTECT);
      region.harvest(AccessSet.WRITE); // forget what was written before the attach
      region.protectAll(AccessSet.WRITE);
    });
  }

  private static final class FaultTracker extends AbstractTracker {
    FaultTracker(Region region, long page) {
      super(region, "fault", page);
    }

    @Override
    BitSet harvestGranules() {
      BitSet dirty = region().harvest(AccessSet.WRITE);
      countHits(dirty.cardinality());
      return dirty;
    }

    @Override
    public void onStore(long address) {
      // The hardware sees the store.
    }

    @Override
    void release() {
      region().protectAll(AccessSet.EMPTY);
      region().setPolicy(BarrierPolicy.NONE);
    }
  }
}
