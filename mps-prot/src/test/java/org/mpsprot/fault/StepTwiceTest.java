package org.mpsprot.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.mpsprot.testing.ChildJvm;

/**
 * MutatorFaultContext.stepInstruction() steps a fault once: a second call returns UNIMPLEMENTED
 * and changes nothing, canStepInstruction() answers false after a step, and the mutator resumes
 * right after the faulting instruction (a store and a load through the accessors complete with
 * their values, and the JVM lives on).
 */
class StepTwiceTest {
  @Test
  void aSecondStepOfTheSameFaultIsRefusedAndTheMutatorResumesOnce() throws Exception {
    ChildJvm.Result r = ChildJvm.run(StepTwiceChild.class, 60, List.of("-Xmx64m"));
    assertFalse(r.timedOut(), r.output());
    assertEquals(0, r.exit(), r.output());
    assertEquals("true OK false UNIMPLEMENTED,true OK false UNIMPLEMENTED", r.line("SEEN"),
        "before, first step, after, second step; for the store and for the load");
    assertEquals("1234 99", r.line("VALUES"), "each access happened exactly once");
    assertEquals("---", r.line("PERMS"), "stepped, never opened");
    assertEquals("ok", r.line("DONE"));
  }
}
