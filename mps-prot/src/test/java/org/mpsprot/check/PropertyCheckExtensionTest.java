package org.mpsprot.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.reporting.ReportEntry;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.mpsprot.check.Toys.SetMachine;
import org.mpsprot.check.Toys.StackMachine;

/**
 * The JUnit 5 integration (issue 14): {@link PropertyCheck} methods and
 * {@link PropertyTests#dynamicTest} run through the JUnit launcher, and what a user sees of them
 * (report entries, display names, the failure and its replay hint) is read back.
 */
class PropertyCheckExtensionTest {
  /** Fixtures, run only through {@link #run} (static nested classes are not picked up by Surefire). */
  static class Passing {
    @PropertyCheck(sequences = 7, seed = 99, maxActions = 5)
    void stack(PropertyChecker checker) {
      Result r = checker.check(StatefulProperty.of("bounded stack", new StackMachine(false)));
      assertEquals(7, r.sequences());
      assertEquals(99, r.seed());
      assertTrue(r.actions() <= 7 * 5, "maxActions applied: " + r.actions());
    }
  }

  static class Failing {
    @PropertyCheck(seed = 42)
    void set(PropertyChecker checker) {
      checker.check(StatefulProperty.of("buggy set", new SetMachine()));
    }
  }

  static class Replaying {
    @PropertyCheck(replay = 123456789L)
    void stack(PropertyChecker checker) {
      Result r = checker.check(StatefulProperty.of("bounded stack", new StackMachine(false)).seed(1));
      assertTrue(r.replay());
      assertEquals(1, r.sequences());
      assertEquals(123456789L, r.seed());
    }
  }

  static class Simple {
    @PropertyCheck(sequences = 30)
    void ints(PropertyChecker checker) {
      Result r = checker.forAll("non-negative", Gen.ints(0, 10), x -> assertTrue(x >= 0));
      assertEquals(30, r.sequences());
    }
  }

  static class Dynamic {
    @TestFactory
    Stream<DynamicTest> properties() {
      return Stream.of(PropertyTests.dynamicTest(StatefulProperty.of("bounded stack", new StackMachine(false))
          .seed(5).sequences(3)));
    }
  }

  /** What a launcher run of one class showed. */
  static final class Run implements TestExecutionListener {
    final Map<String, String> entries = new LinkedHashMap<>();
    final List<String> names = new ArrayList<>();
    final List<Throwable> failures = new ArrayList<>();
    int succeeded;

    @Override
    public void reportingEntryPublished(TestIdentifier id, ReportEntry entry) {
      entries.putAll(entry.getKeyValuePairs());
    }

    @Override
    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
      if (!id.isTest()) return;
      names.add(id.getDisplayName());
      if (result.getStatus() == TestExecutionResult.Status.SUCCESSFUL) succeeded++;
      else failures.add(result.getThrowable().orElse(null));
    }
  }

  private static Run run(Class<?> fixture) {
    Run run = new Run();
    LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request().selectors(selectClass(fixture)).build();
    Launcher launcher = LauncherFactory.create();
    launcher.execute(request, run);
    return run;
  }

  @Test
  void aPropertyCheckMethodRunsWithItsSettingsAndReportsItsSeed() {
    Run r = run(Passing.class);
    assertEquals(1, r.succeeded, "failures: " + r.failures);
    assertEquals("bounded stack", r.entries.get("mpsprot.check.property"));
    assertEquals("99", r.entries.get("mpsprot.check.seed"));
  }

  @Test
  void aFailingPropertyCheckCarriesTheReplayHintsAndTheFailedSeed() {
    Run r = run(Failing.class);
    assertEquals(1, r.failures.size());
    PropertyFailure f = assertInstanceOf(PropertyFailure.class, r.failures.get(0));
    String msg = f.getMessage();
    assertTrue(msg.contains("@PropertyCheck(replay = " + f.seed() + "L) on set"), msg);
    assertTrue(msg.contains("-Dmpsprot.check.seed.buggy_set=" + f.seed()), msg);
    assertTrue(f.counterexample().size() <= 5, "shrunk: " + f.counterexample());
    assertEquals("42", r.entries.get("mpsprot.check.seed"));
    assertEquals(Long.toString(f.seed()), r.entries.get("mpsprot.check.failedSeed"));
  }

  @Test
  void theReplayAttributeRunsTheOneSequence() {
    Run r = run(Replaying.class);
    assertEquals(1, r.succeeded, "failures: " + r.failures);
    assertEquals("123456789", r.entries.get("mpsprot.check.replay"));
  }

  @Test
  void aSimplePropertyRunsThroughTheChecker() {
    Run r = run(Simple.class);
    assertEquals(1, r.succeeded, "failures: " + r.failures);
    assertEquals("non-negative", r.entries.get("mpsprot.check.property"));
    Long.parseLong(r.entries.get("mpsprot.check.seed"));
  }

  @Test
  void aDynamicTestCarriesItsSeedInItsDisplayName() {
    Run r = run(Dynamic.class);
    assertEquals(1, r.succeeded, "failures: " + r.failures);
    assertEquals(List.of("bounded stack [seed 5]"), r.names);
  }
}
