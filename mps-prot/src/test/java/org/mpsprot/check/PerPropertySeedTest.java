package org.mpsprot.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.mpsprot.check.Toys.SetMachine;
import org.mpsprot.check.Toys.StackMachine;

/**
 * {@code -Dmpsprot.check.seed.KEY=S} replays one property and leaves the others of the JVM alone
 * (issue 14); the failure report prints that exact flag; it wins over the global seed.
 */
class PerPropertySeedTest {
  private static PropertyFailure failure() {
    return assertThrows(PropertyFailure.class,
        () -> StatefulProperty.of("buggy set", new SetMachine()).seed(42).check());
  }

  @Test
  void theKeyOfANameReplacesRunsOfOtherCharactersByOneUnderscore() {
    assertEquals("module_model", Settings.key("module = model"));
    assertEquals("buggy-set", Settings.key("buggy-set"));
    assertEquals("a.b_c", Settings.key("  a.b (c) "));
    assertEquals("_", Settings.key("  "));
  }

  @Test
  void aFailureReportNamesThePerPropertyFlag() {
    PropertyFailure f = failure();
    assertTrue(f.getMessage().contains("-Dmpsprot.check.seed.buggy_set=" + f.seed() + " (this property only)"),
        f.getMessage());
    assertTrue(f.getMessage().contains("-Dmpsprot.check.seed=" + f.seed()), f.getMessage());
  }

  @Test
  void aMaxActionsSettingIsNamedForBothReplayFlags() {
    PropertyFailure f = Toys.withProperty("mpsprot.check.maxActions", "40", PerPropertySeedTest::failure);
    assertTrue(f.getMessage().contains("(every property in the JVM)\n  with either:   -Dmpsprot.check.maxActions=40\n"),
        f.getMessage());
  }

  @Test
  void thePerPropertySeedReplaysThatPropertyAndNoOther() {
    PropertyFailure f = failure();
    String flag = "mpsprot.check.seed.buggy_set";
    PropertyFailure again = Toys.withProperty(flag, Long.toString(f.seed()), () -> {
      Result other = StatefulProperty.of("bounded stack", new StackMachine(false)).sequences(25).seed(3).check();
      assertFalse(other.replay(), "another property is not replayed");
      assertEquals(25, other.sequences());
      assertEquals(3, other.seed());
      return assertThrows(PropertyFailure.class,
          () -> StatefulProperty.of("buggy set", new SetMachine()).seed(999).sequences(500).check());
    });
    assertEquals(f.seed(), again.seed());
    assertEquals(f.counterexample(), again.counterexample());
    assertTrue(again.getMessage().contains("(replayed sequence)"), again.getMessage());
  }

  @Test
  void thePerPropertySeedWinsOverTheGlobalOne() {
    PropertyFailure f = failure();
    Result r = Toys.withProperty("mpsprot.check.seed", Long.toString(f.seed()),
        () -> Toys.withProperty("mpsprot.check.seed.bounded_stack", "77",
            () -> StatefulProperty.of("bounded stack", new StackMachine(false)).check()));
    assertTrue(r.replay());
    assertEquals(77, r.seed(), "the property's own seed, not the global one");
    PropertyFailure global = Toys.withProperty("mpsprot.check.seed", Long.toString(f.seed()),
        () -> assertThrows(PropertyFailure.class, () -> StatefulProperty.of("buggy set", new SetMachine()).check()));
    assertEquals(f.seed(), global.seed(), "the global seed still replays every property without its own");
  }

  @Test
  void thePerPropertySeedReplaysASimpleProperty() {
    Gen<Integer> ints = Gen.ints(0, 1000);
    PropertyFailure f = assertThrows(PropertyFailure.class,
        () -> Property.forAll("small ints", ints, 500, 11L, x -> assertTrue(x < 900, "big: " + x)));
    assertTrue(f.getMessage().contains("-Dmpsprot.check.seed.small_ints=" + f.seed()), f.getMessage());
    PropertyFailure again = Toys.withProperty("mpsprot.check.seed.small_ints", Long.toString(f.seed()),
        () -> assertThrows(PropertyFailure.class,
            () -> Property.forAll("small ints", ints, 500, x -> assertTrue(x < 900, "big: " + x))));
    assertEquals(f.counterexample(), again.counterexample());
    Result other = Toys.withProperty("mpsprot.check.seed.small_ints", Long.toString(f.seed()),
        () -> Property.forAll("any ints", ints, 40, 1L, x -> {}));
    assertEquals(40, other.sequences(), "another property runs all its tries");
  }

  @Test
  void theBuilderReplayRunsOneSequence() {
    PropertyFailure f = failure();
    PropertyFailure again = assertThrows(PropertyFailure.class,
        () -> StatefulProperty.of("buggy set", new SetMachine()).replay(f.seed()).check());
    assertEquals(f.seed(), again.seed());
    Result r = Toys.withProperty("mpsprot.check.seed.bounded_stack", "5",
        () -> StatefulProperty.of("bounded stack", new StackMachine(false)).replay(6).check());
    assertEquals(5, r.seed(), "the system property wins over the builder's replay");
  }
}
