package org.mpsprot.barrier;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.os.linux.SoftDirtyPages;

/**
 * Linux soft-dirty bits (docs/barriers.md .strategy.soft-dirty; bdwgc SOFT_VDB): clear_refs 4
 * clears the bit of every page in the process, a write sets bit 55 of the page's pagemap entry.
 * Offered only where the shim's run-time self-test passes, and then only after a second
 * self-test on the region's own (shared memfd) memory at {@link #attach}.
 *
 * <p><b>Not verified on the project's machine</b> (Linux 6.18): the self-test fails there, so
 * this strategy reports itself unavailable and its harvest has never run against a kernel that
 * keeps the bit. Its limits, by construction:
 * <ul>
 *   <li>Reading the bits and clearing them are two steps: {@link Tracker#harvest()} loses a write
 *       made between them, so it must run while the mutator threads are stopped (bdwgc does the
 *       same). It is not atomic with respect to concurrent writers, unlike the other strategies.
 *   <li>clear_refs is process-wide: every harvest write-protects every page of the process (the
 *       JVM's heap included), which then takes a minor fault at its next write. The trackers of
 *       this class therefore read the bits of every live soft-dirty tracker before clearing, and
 *       keep them until that tracker's harvest.
 * </ul>
 */
public final class SoftDirtyStrategy implements WriteBarrierStrategy {
  /** Live trackers; guarded by itself, which also serialises every read-then-clear. */
  private static final List<SoftDirtyTracker> LIVE = new ArrayList<>();

  /**
   * Probed once per process (the kernel does not change under us), except that a self-test that
   * could not run for want of descriptors or memory is run again next time (ProbeCache).
   */
  private static final ProbeCache AVAILABILITY = new ProbeCache(() -> {
    org.mpsprot.os.ProtOs.Backend b = SoftDirtyPages.probe();
    return b.available() ? new org.mpsprot.os.ProtOs.Backend(b.name(), true, b.detail()
        + " (harvest needs the mutators stopped; not verified on the project's machine)") : b;
  });

  @Override
  public String name() {
    return "soft-dirty";
  }

  @Override
  public String description() {
    return "soft-dirty bits: clear_refs 4, then pagemap bit 55 (offered only if a self-test passes)";
  }

  @Override
  public Availability availability() {
    return AVAILABILITY.get();
  }

  /** True: reading and clearing the bits are two steps (see the class comment). */
  @Override
  public boolean harvestNeedsStoppedMutators() {
    return true;
  }

  @Override
  public Tracker attach(Region region) {
    requireAvailable();
    SoftDirtyTracker t = new SoftDirtyTracker(region, Prot.setup().granularity());
    AbstractTracker.claim(t);
    synchronized (LIVE) {
      clearKeepingOthers();
      AbstractTracker.touch(region.mutatorView(), 0);
      boolean seen = SoftDirtyPages.read(region.base(), 1, t.granule()).get(0);
      if (!seen) {
        t.close();
        throw new StrategyUnavailableException(name(), Availability.no("self-test on the region's"
            + " shared memory failed: a write did not set pagemap bit 55 after clear_refs 4"));
      }
      t.pending.set(0); // the self-test's write: a false positive, never a miss
      LIVE.add(t);
    }
    return t;
  }

  /** Reads every live tracker's bits into its pending set, then clears all (clear_refs 4). */
  private static void clearKeepingOthers() {
    for (SoftDirtyTracker t : LIVE) {
      t.pending.or(SoftDirtyPages.read(t.region().base(), t.region().pages(), t.granule()));
    }
    SoftDirtyPages.clearAll();
  }

  private static final class SoftDirtyTracker extends AbstractTracker {
    /** Pages read as dirty but not yet reported; guarded by LIVE. */
    private final BitSet pending = new BitSet();

    SoftDirtyTracker(Region region, long page) {
      super(region, "soft-dirty", page);
    }

    @Override
    BitSet harvestGranules() {
      synchronized (LIVE) {
        clearKeepingOthers();
        BitSet out = (BitSet) pending.clone();
        pending.clear();
        countHits(out.cardinality());
        return out;
      }
    }

    @Override
    public void onStore(long address) {
      // The kernel sees the store.
    }

    @Override
    void release() {
      synchronized (LIVE) {
        LIVE.remove(this);
      }
    }
  }
}
