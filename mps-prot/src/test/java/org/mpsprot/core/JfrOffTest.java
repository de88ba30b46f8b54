package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.mpsprot.testing.ChildJvm;

/**
 * docs/design/fault.md .jfr.cost: with JFR off, the module's JFR support costs nothing: JFR is
 * not started, no thread is started for it, the fault handler samples nothing (the ring's period
 * is 0 and it holds no record after a hundred faults), and no recording is seen.
 */
class JfrOffTest {
  @Test
  void withoutJfrNothingIsStartedAndTheHandlerRecordsNothing() throws Exception {
    ChildJvm.Result r = ChildJvm.run(JfrOffChild.class, 60, List.of());
    assertEquals(0, r.exit(), r.output());
    assertTrue(Long.parseLong(r.line("faults")) >= 100, r.output());
    assertEquals("false", r.line("jfr-initialized"), r.output());
    assertEquals("0", r.line("jfr-threads"), r.output());
    assertEquals("false", r.line("recording"), r.output());
    assertEquals("0", r.line("ring-period"), r.output());
    assertEquals("0", r.line("ring-records"), r.output());
    assertEquals("0", r.line("mps-threads"), "no policy HANDOFF, so no barrier thread (the Cleaner's aside): " + r.output());
  }
}
