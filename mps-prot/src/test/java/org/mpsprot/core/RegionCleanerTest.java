package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.testing.OsMaps;

/**
 * docs/design/prot.md .sol.cleaner: a Region dropped without close() is closed by its Cleaner
 * once neither it nor a ByteBuffer view of it is reachable, whatever its protection and barrier
 * state; its slot and both views' mappings are given back.
 */
class RegionCleanerTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();

  /** Reserves a region with protected, dirty pages and a policy, and drops it: {base, alias}. */
  private long[] dropOne() {
    Region r = prot.reserve(8 * page);
    r.setPolicy(BarrierPolicy.UNPROTECT);
    r.protectAll(AccessSet.WRITE);
    r.alias().put(0, (byte) 1);
    r.mutatorView().put((int) page, (byte) 2); // faults, opens page 1 and marks it dirty
    assertTrue(r.dirtyPages().get(1));
    return new long[] {r.base(), r.aliasBase()};
  }

  /** Reserves a region, keeps a slice of its alias view in view[0], drops it: its base. */
  private long dropKeepingAView(ByteBuffer[] view) {
    Region r = prot.reserve(4 * page);
    view[0] = r.alias().slice(); // a slice keeps the registered buffer reachable
    view[0].put(0, (byte) 7);
    return r.base();
  }

  private static boolean live(long base) {
    return ProtModule.instance().regions().stream().anyMatch(r -> r.base() == base);
  }

  private static void collectUntil(java.util.function.BooleanSupplier done, int rounds) throws InterruptedException {
    for (int i = 0; i < rounds && !done.getAsBoolean(); i++) {
      System.gc();
      Thread.sleep(20);
    }
  }

  @Test
  void aRegionDroppedWithoutCloseIsClosedByItsCleaner() throws Exception {
    long reclaimed = ProtModule.instance().reclaimedRegions();
    long[] at = dropOne();
    assertTrue(live(at[0]));
    collectUntil(() -> !live(at[0]), 500);
    assertTrue(!live(at[0]), "the dropped region is no longer live (its slot is free)");
    assertEquals("unmapped", OsMaps.perms(at[0]), "the mutator's view is unmapped");
    assertEquals("unmapped", OsMaps.perms(at[1]), "the alias view is unmapped");
    assertTrue(ProtModule.instance().reclaimedRegions() > reclaimed);
  }

  @Test
  void aByteBufferViewKeepsADroppedRegionAlive() throws Exception {
    ByteBuffer[] view = new ByteBuffer[1];
    long base = dropKeepingAView(view);
    collectUntil(() -> false, 20);
    assertTrue(live(base), "still live while a view is reachable");
    assertEquals(7, view[0].get(0), "the view still reads the region");
    view[0] = null;
    collectUntil(() -> !live(base), 500);
    assertTrue(!live(base), "closed once the view is unreachable too");
    assertEquals("unmapped", OsMaps.perms(base));
  }

  @Test
  void aClosedRegionIsNotClosedAgainByItsCleaner() throws Exception {
    long reclaimed = ProtModule.instance().reclaimedRegions();
    long base;
    {
      Region r = prot.reserve(4 * page);
      base = r.base();
      r.close();
    }
    Region next = prot.reserve(4 * page); // may take the same slot, even the same addresses
    try {
      collectUntil(() -> false, 20);
      assertTrue(!next.isClosed() && live(next.base()), "the new region is untouched");
      assertEquals(reclaimed, ProtModule.instance().reclaimedRegions(), "nothing was reclaimed");
    } finally {
      next.close();
    }
    assertTrue(!live(base) || base == next.base());
  }
}
