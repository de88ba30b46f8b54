package org.mpsprot.inject;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.mpsprot.AccessSet;
import org.mpsprot.Prot;
import org.mpsprot.ProtBatch;
import org.mpsprot.ProtOsException;
import org.mpsprot.Region;
import org.mpsprot.SyncReport;

/**
 * ProtBatch.apply() refused by the OS midway (design/prot.md .sol.batch): runs are made in
 * ascending address order; the runs before the failed one stay applied, the failed one is
 * undone, the later ones are not applied, and applied() says exactly which.
 */
@EnabledIfSystemProperty(named = "mpsprot.inject", matches = "true",
    disabledReason = "needs the fault-injection build of the shim: run by the fault-injection execution")
class BatchFailureTest {
  @AfterEach
  void disarm() {
    Inject.disarmAll();
  }

  @Test
  void anOsFailureMidwayLeavesTheLowerRunsAppliedAndReportsThem() {
    Prot prot = Prot.setup();
    long page = prot.granularity();
    List<Region> rs = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        rs.add(prot.reserve(4 * page));
      }
      rs.sort((a, b) -> Long.compareUnsigned(a.base(), b.base()));
      ProtBatch batch = prot.batch();
      for (int i = rs.size() - 1; i >= 0; i--) { // queued from the highest: order is the batch's
        batch.set(rs.get(i).base() + page, rs.get(i).base() + 2 * page, AccessSet.WRITE);
      }
      Inject.arm(Inject.Site.MPROTECT, 2, 1, 12 /* ENOMEM */);
      ProtOsException e = assertThrows(ProtOsException.class, batch::apply);
      assertEquals("ENOMEM", e.errnoName());
      assertEquals(1, Inject.fired(Inject.Site.MPROTECT));
      Inject.disarmAll();
      assertEquals(List.of(new ProtBatch.Run(rs.get(0).base() + page, rs.get(0).base() + 2 * page,
          AccessSet.WRITE)), batch.applied(), "exactly the lowest run was applied");
      assertEquals(AccessSet.WRITE, rs.get(0).mode(page), "the run before the failure stays applied");
      assertEquals(AccessSet.EMPTY, rs.get(1).mode(page), "the failed run was undone");
      assertEquals(AccessSet.EMPTY, rs.get(2).mode(page), "the run after it was not applied");
      assertEquals(1, e.getSuppressed().length, "the batch's report is attached");
      String report = e.getSuppressed()[0].getMessage();
      assertTrue(report.contains("run 2 of 3") && report.contains("ascending address order"), report);
      SyncReport sync = prot.sync();
      assertTrue(sync.clean(), "record and OS agree: " + sync);
      assertEquals(0, batch.apply(), "the batch was emptied");
    } finally {
      rs.forEach(Region::close);
    }
  }
}
