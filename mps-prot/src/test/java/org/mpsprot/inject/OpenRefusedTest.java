package org.mpsprot.inject;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.testing.OsMaps;

/**
 * docs/design/fault.md .sol.open.refused: when the OS refuses the handler's mprotect that would
 * open a page (ENOMEM at vm.max_map_count), the access is emulated through the alias view, the
 * page stays protected and is marked as if opened; the process goes on. Before, it failed fast.
 */
@EnabledIfSystemProperty(named = "mpsprot.inject", matches = "true",
    disabledReason = "needs the fault-injection build of the shim: run by the fault-injection execution")
class OpenRefusedTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();

  @AfterEach
  void disarm() {
    Inject.disarmAll();
  }

  @Test
  void aWriteWhoseOpeningTheOsRefusesIsEmulatedAndMarkedDirty() {
    try (Region r = prot.reserve(4 * page)) {
      r.setPolicy(BarrierPolicy.UNPROTECT);
      r.protectAll(AccessSet.WRITE);
      Inject.arm(Inject.Site.MPROTECT, 1, Long.MAX_VALUE / 2, 12 /* ENOMEM */);
      long before = prot.counters().stepped();
      r.mutatorView().putLong((int) (2 * page) + 24, 0x1234_5678_9abcL);
      long failed = Inject.fired(Inject.Site.MPROTECT);
      Inject.disarmAll();
      assertTrue(failed >= 1, "the handler's mprotect was refused " + failed + " times");
      assertEquals(0x1234_5678_9abcL, r.alias().getLong((int) (2 * page) + 24), "the write landed");
      assertEquals(before + 1, prot.counters().stepped(), "emulated instead of opened");
      assertEquals("r--", OsMaps.perms(r.base() + 2 * page), "the page stays protected");
      assertEquals(AccessSet.WRITE, r.mode(2 * page), "the record says so too");
      BitSet expected = new BitSet();
      expected.set(2);
      assertEquals(expected, r.dirtyPages(), "marked as if opened: the next harvest reports it");
      assertEquals(expected, r.harvest(AccessSet.WRITE));
    }
  }

  @Test
  void aReadWhoseOpeningTheOsRefusesIsEmulatedAndMarkedTouched() {
    try (Region r = prot.reserve(4 * page)) {
      r.setPolicy(BarrierPolicy.UNPROTECT);
      r.alias().putLong((int) page + 8, 77);
      r.protectAll(AccessSet.ALL);
      Inject.arm(Inject.Site.MPROTECT, 1, Long.MAX_VALUE / 2, 12 /* ENOMEM */);
      long got = r.mutatorView().getLong((int) page + 8);
      Inject.disarmAll();
      assertEquals(77, got, "the emulated load returned the memory's value");
      assertEquals("---", OsMaps.perms(r.base() + page), "the page stays inaccessible");
      BitSet expected = new BitSet();
      expected.set(1);
      assertEquals(expected, r.touchedPages());
    }
  }
}
