package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Pointer;
import java.util.BitSet;
import org.junit.jupiter.api.Test;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.Prot;
import org.mpsprot.ProtOsException;
import org.mpsprot.Region;
import org.mpsprot.SyncReport;
import org.mpsprot.testing.LibC;
import org.mpsprot.testing.OsMaps;

/**
 * Memory mapped over a live region from outside (mmap MAP_FIXED) is no longer the region's
 * (design/prot.md .sol.replaced): ProtSync reports it as replaced, never repaired, and the
 * module never changes it again: ProtSet and harvest refuse it, close() leaves it mapped.
 */
class ReplacedMemoryTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();

  @Test
  void aPageReplacedFromOutsideIsReportedAsReplacedAndLeftAlone() {
    Region r = prot.reserve(8 * page);
    long foreign = r.base() + 3 * page;
    try {
      r.setPolicy(BarrierPolicy.UNPROTECT);
      r.protectAll(AccessSet.WRITE);
      assertEquals(foreign, LibC.mapFixedAnonymous(foreign, page, LibC.PROT_READ | LibC.PROT_WRITE));
      new Pointer(foreign).setLong(8, 0x5EED_F00DL);

      SyncReport report = prot.sync();
      SyncReport.Difference d = report.differences().stream()
          .filter(x -> x.regionBase() == r.base()).findFirst().orElseThrow(() -> new AssertionError(report));
      assertEquals(1, report.differences().stream().filter(x -> x.regionBase() == r.base()).count(), report.toString());
      assertEquals(SyncReport.Kind.REPLACED, d.kind(), report.toString());
      assertFalse(d.repaired(), "replaced memory is never repaired");
      assertEquals(foreign, d.base());
      assertEquals(foreign + page, d.limit());
      assertEquals("r--", d.expected());
      assertEquals("rw-", d.actual());
      assertTrue(d.toString().contains("REPLACED"), d.toString());
      assertUntouched(foreign);
      assertEquals("r--", OsMaps.perms(r.base() + 2 * page), "the region's own pages keep their protection");

      ProtOsException set = assertThrows(ProtOsException.class, () -> r.protect(2 * page, 2 * page, AccessSet.ALL));
      assertEquals("ENXIO", set.errnoName());
      assertTrue(set.getMessage().contains("replaced from outside"), set.getMessage());
      assertTrue(set.getMessage().contains("What to do"), set.getMessage());
      assertEquals("r--", OsMaps.perms(r.base() + 2 * page), "a refused request changes nothing");
      assertUntouched(foreign);

      r.protect(0, 2 * page, AccessSet.EMPTY); // the region's other pages still work
      assertEquals("rw-", OsMaps.perms(r.base()));
      r.mutatorView().putLong((int) page, 1); // a write the module tracks: page 1 is dirty
      ProtOsException harvest = assertThrows(ProtOsException.class, () -> r.harvest(AccessSet.WRITE));
      assertEquals("ENXIO", harvest.errnoName());
      assertUntouched(foreign);

      SyncReport again = prot.sync();
      assertEquals(1, again.replaced(), "still replaced, still left alone: " + again);
      assertUntouched(foreign);
    } finally {
      r.close();
    }
    assertUntouched(foreign);
    assertEquals("unmapped", OsMaps.perms(r.base()), "close unmapped the region's own pages");
    assertEquals("unmapped", OsMaps.perms(r.base() + 4 * page));
    assertEquals("unmapped", OsMaps.perms(r.aliasBase() + 3 * page), "and the whole alias view");
    assertEquals(0, LibC.munmap(foreign, page));
  }

  private void assertUntouched(long foreign) {
    assertEquals("rw-", OsMaps.perms(foreign), "the foreign page's protection");
    assertEquals(0x5EED_F00DL, new Pointer(foreign).getLong(8), "the foreign page's contents");
  }

  @Test
  void aReplacedAliasPageIsReportedAndSurvivesClose() {
    Region r = prot.reserve(4 * page);
    long foreign = r.aliasBase() + page;
    try {
      assertEquals(foreign, LibC.mapFixedAnonymous(foreign, page, LibC.PROT_READ));
      SyncReport report = prot.sync();
      SyncReport.Difference d = report.differences().stream()
          .filter(x -> x.regionBase() == r.base()).findFirst().orElseThrow(() -> new AssertionError(report));
      assertEquals(SyncReport.View.ALIAS, d.view());
      assertEquals(SyncReport.Kind.REPLACED, d.kind());
      assertFalse(d.repaired());
      assertEquals("r--", OsMaps.perms(foreign), "not made read-write: it is not the region's");
    } finally {
      r.close();
    }
    assertEquals("r--", OsMaps.perms(foreign), "close left it mapped");
    assertEquals("unmapped", OsMaps.perms(r.aliasBase()));
    assertEquals(0, LibC.munmap(foreign, page));
  }

  @Test
  void unmappedPagesAreReportedNeverRepairedAndRefused() {
    Region r = prot.reserve(4 * page);
    try {
      assertEquals(0, LibC.munmap(r.base() + 2 * page, page));
      SyncReport report = prot.sync();
      SyncReport.Difference d = report.differences().stream()
          .filter(x -> x.regionBase() == r.base()).findFirst().orElseThrow(() -> new AssertionError(report));
      assertEquals(SyncReport.Kind.UNMAPPED, d.kind());
      assertEquals("unmapped", d.actual());
      assertFalse(d.repaired());
      ProtOsException e = assertThrows(ProtOsException.class, () -> r.protectAll(AccessSet.WRITE));
      assertEquals("ENXIO", e.errnoName());
      BitSet none = r.dirtyPages();
      assertTrue(none.isEmpty());
    } finally {
      r.close();
    }
  }
}
