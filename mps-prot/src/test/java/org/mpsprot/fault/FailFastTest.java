package org.mpsprot.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.mpsprot.testing.ChildJvm;

/**
 * Faults that cannot be resolved end the process with one clear message and SIGABRT (exit 134),
 * never a hang: a JIT-compiled store into a region a Java collector resolves (.rule.native), a
 * region with no policy, a collector handler that throws or does not resolve the fault.
 */
class FailFastTest {
  private static ChildJvm.Result crash(String scenario) throws Exception {
    ChildJvm.Result r = ChildJvm.run(CrashChild.class, 90, List.of("-Xmx64m"), scenario);
    assertFalse(r.timedOut(), scenario + ": the child hung (killed at the deadline):\n" + r.output());
    assertTrue(r.output().contains("READY handler=true"), r.output());
    assertFalse(r.output().contains("NOT REACHED"), r.output());
    assertEquals(134, r.exit(), scenario + ": expected SIGABRT (134):\n" + r.output());
    return r;
  }

  @Test
  void aJitCompiledStoreIntoAHandoffRegionFailsFastWithTheRule() throws Exception {
    ChildJvm.Result r = crash("jit-handoff");
    assertTrue(r.output().contains("mps-prot: fatal"), r.output());
    assertTrue(r.output().contains("native state"), r.output());
    assertTrue(r.output().contains(".rule.native"), r.output());
    assertTrue(r.output().matches("(?s).*0x[0-9a-f]+.*"), r.output());
  }

  @Test
  void aRegionWithNoPolicyFailsFast() throws Exception {
    ChildJvm.Result r = crash("no-policy");
    assertTrue(r.output().contains("no barrier policy"), r.output());
  }

  @Test
  void aHandlerThatThrowsIsReportedAndTheMutatorFailsFast() throws Exception {
    ChildJvm.Result r = crash("handler-throws");
    assertTrue(r.output().contains("collector bug on purpose"), r.output());
    assertTrue(r.output().contains("the fault handler threw"), r.output());
  }

  @Test
  void aHandlerThatDoesNotResolveIsReportedAndTheMutatorFailsFast() throws Exception {
    ChildJvm.Result r = crash("handler-does-nothing");
    assertTrue(r.output().contains("times in a row without resolving"), r.output());
  }

  /** Issue 14: a Java user reads the Java names of what to call (fault.md .msg.names). */
  @Test
  void failFastMessagesNameTheJavaApi() throws Exception {
    String jit = crash("jit-handoff").output();
    assertTrue(jit.contains("org.mpsprot.Accessors"), jit);
    assertTrue(jit.contains("Region.setHandoff(handler, HandoffFallback.FAIL_FAST)"), jit);
    String none = crash("no-policy").output();
    assertTrue(none.contains("BarrierPolicy.NONE") && none.contains("Region.setPolicy"), none);
    String unresolved = crash("handler-does-nothing").output();
    assertTrue(unresolved.contains("the region's FaultHandler threw, or returned without"), unresolved);
    // C callers still read the C names in the same line.
    assertTrue(none.contains("mpsprot_region_set_policy"), none);
    assertTrue(unresolved.contains("MPSPROT_RESOLVE_FAIL"), unresolved);
  }

  /**
   * Issue 14: the native-mutator declaration is for C code only (fault.md .rule.native.declare),
   * and the message a Java thread gets says so rather than advising it.
   */
  @Test
  void theNotNativeMessageSaysTheNativeMutatorDeclarationIsForCCodeOnly() throws Exception {
    String jit = crash("jit-handoff").output();
    assertTrue(jit.contains("(C code only, never a Java thread) declare a native mutator"), jit);
  }
}
