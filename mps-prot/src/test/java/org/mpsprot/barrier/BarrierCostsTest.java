package org.mpsprot.barrier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The cost measurement runs on every strategy and yields finite figures for the available ones. */
class BarrierCostsTest {
  @Test
  void measuresEveryAvailableStrategyAndListsTheOthers() {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    List<BarrierCosts.Row> rows = new BarrierCosts(64, 1).measure(Strategies.all(), new PrintStream(log, true));
    assertEquals(Strategies.all().size(), rows.size());
    for (BarrierCosts.Row r : rows) {
      if (r.availability().available()) {
        assertTrue(Double.isFinite(r.hitNs()) && Double.isFinite(r.harvestScatteredNs())
            && r.harvestContiguousNs() > 0 && r.harvestCleanNs() > 0, r.toString());
      } else {
        assertTrue(Double.isNaN(r.hitNs()));
        assertTrue(log.toString().contains(r.strategy() + " unavailable: " + r.availability().reason()), log.toString());
      }
    }
  }
}
