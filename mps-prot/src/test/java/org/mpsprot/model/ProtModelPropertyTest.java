package org.mpsprot.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.mpsprot.check.PropertyFailure;
import org.mpsprot.check.Result;
import org.mpsprot.check.StatefulProperty;
import org.mpsprot.testing.Emulation;

/**
 * The module against its reference model, over at least 1,000 random action sequences per run
 * (more with -Dmpsprot.check.sequences=N; replay one with -Dmpsprot.check.seed=S).
 */
class ProtModelPropertyTest {
  @Test
  void theModuleBehavesAsTheModel() {
    int sequences = Emulation.count("sequences", "ProtModelPropertyTest, its random sequences", 1000, 10,
        "every action checks against /proc/self/maps, and under qemu-user each read costs 56-190 ms");
    ProtectionStateMachine machine = new ProtectionStateMachine(false);
    Result r = StatefulProperty.of("module = model", machine)
        .sequences(sequences)
        .maxActions(20)
        .check();
    assertTrue(r.replay() || r.sequences() >= sequences, "ran " + r.sequences() + " sequences");
    if (!r.replay() && sequences >= 100) {
      // The run exercised every resolution the model predicts (not only protections).
      for (RegionModel.Resolution k : new RegionModel.Resolution[] {RegionModel.Resolution.NONE,
          RegionModel.Resolution.UNPROTECTED, RegionModel.Resolution.STEPPED, RegionModel.Resolution.HANDED_OFF}) {
        assertTrue(machine.seen.getOrDefault(k, 0L) >= 10, "accesses resolved " + k + ": " + machine.seen);
      }
    }
  }

  /** A deliberately wrong model (beyond protections) is caught, shrunk, and printed with its replay flag. */
  private static PropertyFailure caught(ProtectionStateMachine.Bug bug) {
    return assertThrows(PropertyFailure.class,
        () -> StatefulProperty.of("wrong model (" + bug + ")", new ProtectionStateMachine(bug))
            .seed(20261129L)
            .sequences(300)
            .maxActions(20)
            .check());
  }

  @Test
  void aModelThatTreatsStepAsUnprotectIsCaughtAndShrunk() {
    PropertyFailure f = caught(ProtectionStateMachine.Bug.STEP_AS_UNPROTECT);
    assertTrue(f.counterexample().size() <= 4, "shrunk to " + f.counterexample());
    assertTrue(f.counterexample().toString().contains("STEP"), f.getMessage());
    assertTrue(f.getMessage().contains("-Dmpsprot.check.seed.wrong_model_STEP_AS_UNPROTECT="), f.getMessage());
  }

  @Test
  void aModelThatIgnoresTheHandoffDecisionIsCaughtAndShrunk() {
    PropertyFailure f = caught(ProtectionStateMachine.Bug.HANDOFF_DECISION_IGNORED);
    assertTrue(f.counterexample().size() <= 4, "shrunk to " + f.counterexample());
    assertTrue(f.counterexample().toString().contains("handler: open"), f.getMessage());
  }

  @Test
  void aTouchedHarvestThatDoesNothingIsCaughtAndShrunk() {
    PropertyFailure f = caught(ProtectionStateMachine.Bug.TOUCHED_HARVEST_NOOP);
    assertTrue(f.counterexample().size() <= 5, "shrunk to " + f.counterexample());
    assertTrue(f.counterexample().get(f.counterexample().size() - 1).toString().startsWith("harvestTouched"),
        f.getMessage());
  }

  @Test
  void aModelThatTreatsLimitAsInclusiveIsCaughtAndShrunk() {
    PropertyFailure f = assertThrows(PropertyFailure.class,
        () -> StatefulProperty.of("wrong model (inclusive limit)", new ProtectionStateMachine(true))
            .seed(20261124L)
            .sequences(200)
            .maxActions(20)
            .check());
    assertTrue(f.counterexample().size() <= 3, "shrunk to " + f.counterexample());
    assertEquals("reserve", f.counterexample().get(0).toString().substring(0, 7), f.getMessage());
    assertTrue(f.getMessage().contains("-Dmpsprot.check.seed="), f.getMessage());
  }
}
