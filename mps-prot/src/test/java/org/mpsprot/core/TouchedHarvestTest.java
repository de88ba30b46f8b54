package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.mpsprot.testing.Pages.bits;

import java.nio.ByteBuffer;
import java.util.BitSet;
import org.junit.jupiter.api.Test;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.RegionClosedException;
import org.mpsprot.model.ProtModel;
import org.mpsprot.testing.OsMaps;

/**
 * Region.harvestTouched (issue 14; design/prot.md .sol.harvest.touched): an UNPROTECT read
 * barrier starts a new cycle. The pages read since the last call are reported once, their
 * touched bits cleared, and they are protected again, so the next read faults and is reported
 * by the next call; the dirty bits are not the touched harvest's.
 */
class TouchedHarvestTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();

  @Test
  void aReadBarrierStartsANewCycleWithHarvestTouched() {
    try (Region r = prot.reserve(8 * page)) {
      r.setPolicy(BarrierPolicy.UNPROTECT);
      r.protectAll(AccessSet.ALL);
      ByteBuffer view = r.mutatorView();
      long before = prot.counters().readFaults();
      view.getLong((int) (1 * page));
      view.getLong((int) (2 * page));
      view.getLong((int) (6 * page));
      view.putLong((int) (2 * page), 7); // read, then written: touched and dirty
      view.putLong((int) (4 * page), 9); // written only: dirty, not touched
      assertEquals(3, prot.counters().readFaults() - before, "one read fault per page read");
      assertEquals(bits(1, 2, 6), r.touchedPages());

      assertEquals(bits(1, 2, 6), r.harvestTouched(AccessSet.ALL), "the pages read this cycle");
      assertEquals(new BitSet(), r.touchedPages(), "the touched bits are cleared");
      assertEquals(bits(2, 4), r.dirtyPages(), "the dirty bits are left alone");
      for (int p : new int[] {1, 2, 6}) {
        assertEquals(AccessSet.ALL, r.mode(p * page), "page " + p + " protected again");
        assertEquals("---", OsMaps.perms(r.base() + p * page), "page " + p + " in the OS");
      }
      assertEquals(AccessSet.EMPTY, r.mode(4 * page), "a page only written is not re-protected");
      assertEquals(new BitSet(), r.harvestTouched(AccessSet.ALL), "nothing read since");

      // The next cycle: a read faults again and is reported again.
      long second = prot.counters().readFaults();
      assertEquals(7, view.getLong((int) (2 * page)));
      assertEquals(1, prot.counters().readFaults() - second, "the read after the harvest faulted");
      assertEquals(bits(2), r.harvestTouched(AccessSet.ALL));
      assertEquals(ProtModel.perms(AccessSet.ALL), OsMaps.perms(r.base() + 2 * page));
    }
  }

  @Test
  void harvestTouchedOnAClosedRegionThrows() {
    Region r = prot.reserve(page);
    r.close();
    assertThrows(RegionClosedException.class, () -> r.harvestTouched(AccessSet.ALL));
    assertThrows(NullPointerException.class, () -> {
      try (Region open = prot.reserve(page)) {
        open.harvestTouched(null);
      }
    });
  }
}
