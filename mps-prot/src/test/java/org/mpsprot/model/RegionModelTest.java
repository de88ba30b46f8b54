package org.mpsprot.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mpsprot.testing.Pages.bits;

import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mpsprot.Access;
import org.mpsprot.AccessLogEntry;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.HandoffFallback;
import org.mpsprot.ProtRangeException;
import org.mpsprot.model.RegionModel.HandoffDecision;
import org.mpsprot.model.RegionModel.Outcome;
import org.mpsprot.model.RegionModel.Resolution;

/** The region-relative model's rules (docs/design/prot.md .model.region), without native code. */
class RegionModelTest {
  private static final long PAGE = 4096;

  @Test
  void unprotectOpensThePageAndMarksItDirtyOrTouched() {
    RegionModel m = new RegionModel(PAGE, 4);
    m.setPolicy(BarrierPolicy.UNPROTECT);
    m.protectAll(AccessSet.ALL);
    Outcome read = m.access(PAGE + 8, Access.READ, 8, 0, false);
    assertEquals(new Outcome(true, Resolution.UNPROTECTED, AccessSet.WRITE, 0), read);
    Outcome write = m.access(PAGE + 8, Access.WRITE, 8, 42, false);
    assertEquals(new Outcome(true, Resolution.UNPROTECTED, AccessSet.EMPTY, 42), write);
    assertEquals(new Outcome(false, Resolution.NONE, AccessSet.EMPTY, 42), m.access(PAGE + 8, Access.READ, 8, 0, false));
    m.access(3 * PAGE, Access.WRITE, 4, 7, false);
    assertEquals(bits(1, 3), m.dirtyPages());
    assertEquals(bits(1), m.touchedPages());
  }

  @Test
  void harvestsReportClearAndReprotectTheirOwnBitsOnly() {
    RegionModel m = new RegionModel(PAGE, 4);
    m.setPolicy(BarrierPolicy.UNPROTECT);
    m.protectAll(AccessSet.ALL);
    m.access(0, Access.READ, 8, 0, false);
    m.access(0, Access.WRITE, 8, 1, false);
    m.access(2 * PAGE, Access.WRITE, 8, 1, false);
    m.access(3 * PAGE, Access.READ, 8, 0, false);
    assertEquals(bits(0, 3), m.harvestTouched(AccessSet.ALL));
    assertEquals(new BitSet(), m.touchedPages());
    assertEquals(bits(0, 2), m.dirtyPages(), "the touched harvest leaves the dirty bits");
    assertEquals(AccessSet.ALL, m.mode(0));
    assertEquals(AccessSet.EMPTY, m.mode(2 * PAGE));
    assertEquals(bits(0, 2), m.harvest(AccessSet.WRITE));
    assertEquals(AccessSet.WRITE, m.mode(0));
    assertEquals(new BitSet(), m.harvest(AccessSet.WRITE));
  }

  @Test
  void stepEmulatesLogsAndLeavesTheProtection() {
    RegionModel m = new RegionModel(PAGE, 2);
    m.aliasWrite(16, 8, 5);
    m.setPolicy(BarrierPolicy.STEP);
    m.protectAll(AccessSet.ALL);
    assertEquals(new Outcome(true, Resolution.STEPPED, AccessSet.ALL, 5), m.access(16, Access.READ, 8, 0, true));
    assertEquals(new Outcome(true, Resolution.STEPPED, AccessSet.ALL, 9), m.access(16, Access.WRITE, 8, 9, true));
    assertEquals(List.of(new AccessLogEntry(1000 + 16, Access.READ, 8, 5, 5),
        new AccessLogEntry(1000 + 16, Access.WRITE, 8, 5, 9)), m.drainLog(1000));
    assertEquals(List.of(), m.drainLog());
    assertEquals(new BitSet(), m.dirtyPages(), "a stepped write is logged, not marked");
    assertEquals(9, m.load(16, 8));
  }

  @Test
  void handoffAppliesTheHandlersDecisionForNativeAccessesAndTheFallbackForOthers() {
    RegionModel m = new RegionModel(PAGE, 2);
    m.setHandoff((offset, access) -> offset < PAGE ? HandoffDecision.open(AccessSet.WRITE) : HandoffDecision.step(),
        HandoffFallback.UNPROTECT);
    m.protectAll(AccessSet.ALL);
    assertEquals(new Outcome(true, Resolution.HANDED_OFF, AccessSet.WRITE, 0), m.access(8, Access.READ, 8, 0, true));
    assertEquals(new Outcome(true, Resolution.HANDED_OFF, AccessSet.ALL, 3), m.access(PAGE, Access.WRITE, 8, 3, true));
    assertEquals(new BitSet(), m.dirtyPages(), "a handler's resolution marks nothing");
    assertEquals(List.of(), m.drainLog(), "nor logs");
    assertThrows(IllegalStateException.class, () -> m.access(8, Access.WRITE, 8, 1, true),
        "opening to WRITE leaves a write forbidden");
    Outcome java = m.access(PAGE, Access.WRITE, 8, 4, false);
    assertEquals(new Outcome(true, Resolution.UNPROTECTED, AccessSet.EMPTY, 4), java);
    assertEquals(bits(1), m.dirtyPages());
    m.setHandoff((o, a) -> HandoffDecision.step(), HandoffFallback.FAIL_FAST);
    assertEquals(Resolution.FAIL_FAST, m.access(8, Access.WRITE, 8, 1, false).resolution());
  }

  @Test
  void noPolicyFailsFastAndRangesAreChecked() {
    RegionModel m = new RegionModel(PAGE, 2);
    m.protect(PAGE, PAGE, AccessSet.WRITE);
    assertFalse(m.faults(PAGE, Access.READ));
    assertTrue(m.faults(PAGE, Access.WRITE));
    assertEquals(Resolution.FAIL_FAST, m.access(PAGE, Access.WRITE, 8, 1, false).resolution());
    assertThrows(ProtRangeException.class, () -> m.protect(1, PAGE, AccessSet.ALL));
    assertThrows(ProtRangeException.class, () -> m.protect(PAGE, 2 * PAGE, AccessSet.ALL));
    assertThrows(ProtRangeException.class, () -> m.mode(2 * PAGE));
    assertThrows(IllegalArgumentException.class, () -> m.access(PAGE - 4, Access.READ, 8, 0, true));
    assertThrows(IllegalArgumentException.class, () -> m.setPolicy(BarrierPolicy.HANDOFF));
  }

  @Test
  void theAbsoluteModelSharesItsRegionModels() {
    ProtModel abs = new ProtModel(PAGE);
    abs.addRegion(0x10000, 2 * PAGE);
    abs.set(0x10000 + PAGE, 0x10000 + 2 * PAGE, AccessSet.ALL);
    RegionModel r = abs.region(0x10000);
    assertEquals(AccessSet.ALL, r.mode(PAGE));
    r.protect(0, PAGE, AccessSet.WRITE);
    assertEquals(AccessSet.WRITE, abs.recordedMode(0x10000));
    assertEquals(AccessSet.WRITE, abs.unprotect(0x10000 + PAGE + 3, Access.READ));
    assertEquals(AccessSet.WRITE, r.mode(PAGE));
  }
}
