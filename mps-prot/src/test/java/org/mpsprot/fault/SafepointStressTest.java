package org.mpsprot.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mpsprot.testing.ChildJvm;

/**
 * Mutators fault at a high rate under every policy while other threads force safepoints
 * (System.gc() in a loop, allocation). The child is killed at a deadline, so a deadlock fails
 * the test instead of hanging it (BRIEF's safepoint deadlock; docs/design/fault.md .rule.native).
 */
class SafepointStressTest {
  @ParameterizedTest
  @ValueSource(strings = {"unprotect", "step", "handoff"})
  void faultsUnderConstantSafepointsNeverHang(String policy) throws Exception {
    ChildJvm.Result r = ChildJvm.run(StressChild.class, 60, List.of("-Xmx128m"), policy, "3000");
    assertFalse(r.timedOut(), policy + ": the child hung and was killed:\n" + r.output());
    assertEquals(0, r.exit(), r.output());
    long faults = Long.parseLong(r.line("FAULTS"));
    assertTrue(faults >= 100, policy + ": only " + faults + " faults: " + r.output());
  }
}
