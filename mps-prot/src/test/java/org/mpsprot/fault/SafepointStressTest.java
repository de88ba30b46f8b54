package org.mpsprot.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mpsprot.testing.ChildJvm;
import org.mpsprot.testing.Emulation;

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
    int least = !policy.equals("handoff")
        ? Emulation.count("faults", "SafepointStressTest[" + policy + "], the faults required in 3 s", 100, 10,
            "under qemu-user on a loaded machine 66 faults were seen in 3 s with System.gc() back to back")
        : Emulation.count("handoffs", "SafepointStressTest[handoff], the handoffs required in 3 s", 100, 1,
            "under qemu-user a handoff while System.gc() runs back to back takes about a second: 2 were seen");
    assertTrue(faults >= least, policy + ": only " + faults + " faults: " + r.output());
  }
}
