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
    Result r = StatefulProperty.of("module = model", new ProtectionStateMachine(false))
        .sequences(sequences)
        .maxActions(20)
        .check();
    assertTrue(r.replay() || r.sequences() >= sequences, "ran " + r.sequences() + " sequences");
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
