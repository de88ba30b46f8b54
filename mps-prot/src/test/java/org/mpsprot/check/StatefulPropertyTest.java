package org.mpsprot.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.mpsprot.check.Toys.Add;
import org.mpsprot.check.Toys.BoundedStack;
import org.mpsprot.check.Toys.BufferMachine;
import org.mpsprot.check.Toys.Pop;
import org.mpsprot.check.Toys.Push;
import org.mpsprot.check.Toys.Remove;
import org.mpsprot.check.Toys.SetMachine;
import org.mpsprot.check.Toys.StackMachine;
import org.mpsprot.check.Toys.Write;

class StatefulPropertyTest {

  private static PropertyFailure failSet(SetMachine machine, long seed) {
    return assertThrows(PropertyFailure.class,
        () -> StatefulProperty.of("buggy-set", machine).seed(seed).check());
  }

  private static void assertAllClosedOnce(Toys.Tracking<?, ?> machine) {
    assertTrue(!machine.created.isEmpty(), "no system created");
    for (Toys.Closeable s : machine.created) assertEquals(1, s.closeCount, "closeSystem calls for " + s);
  }

  @Test
  void correctStackPasses() {
    StackMachine machine = new StackMachine(false);
    Result r = StatefulProperty.of("bounded-stack", machine).sequences(200).seed(1).check();
    assertEquals(200, r.sequences());
    assertEquals(1, r.seed());
    assertTrue(r.actions() > 200 * 20, "actions run: " + r.actions());
    assertEquals(200, machine.created.size());
    assertAllClosedOnce(machine);
  }

  @Test
  void correctStackPassesWithTimeBasedSeeds() {
    for (int i = 0; i < 3; i++)
      assertEquals(200, StatefulProperty.of("bounded-stack", new StackMachine(false)).sequences(200).check().sequences());
  }

  @Test
  void bugAfterSpecificCombinationIsCaughtAndShrunk() {
    SetMachine machine = new SetMachine();
    PropertyFailure f = failSet(machine, 42);
    List<?> shrunk = f.counterexample();
    assertTrue(shrunk.size() >= 4 && shrunk.size() <= 5, "shrunk sequence: " + shrunk);
    assertTrue(f.originalSize() >= shrunk.size());
    // minimal shape: three adds, then a remove of an absent element
    assertEquals(3, shrunk.stream().filter(a -> a instanceof Add).count(), "shrunk: " + shrunk);
    assertInstanceOf(Remove.class, shrunk.get(shrunk.size() - 1));

    String msg = f.getMessage();
    assertTrue(msg.contains("buggy-set"), msg);
    assertTrue(msg.contains(Long.toString(f.seed())), msg);
    assertTrue(msg.contains("-Dmpsprot.check.seed=" + f.seed()), msg);
    assertTrue(msg.contains("original sequence: " + f.originalSize() + " actions"), msg);
    for (Object a : shrunk) assertTrue(msg.contains(a.toString()), msg);
    assertInstanceOf(AssertionError.class, f.getCause());
    assertTrue(msg.contains(f.getCause().getMessage()), msg);
  }

  @Test
  void bugIsCaughtAndShrunkForManySeeds() {
    for (long seed = 0; seed < 200; seed++) {
      SetMachine machine = new SetMachine();
      PropertyFailure f = failSet(machine, seed);
      assertTrue(f.counterexample().size() <= 5, "seed " + seed + ": " + f.counterexample());
      assertAllClosedOnce(machine);
    }
  }

  @Test
  void sameBaseSeedGivesSameFailure() {
    PropertyFailure a = failSet(new SetMachine(), 1234), b = failSet(new SetMachine(), 1234);
    assertEquals(a.seed(), b.seed());
    assertEquals(a.counterexample(), b.counterexample());
    assertEquals(a.getMessage(), b.getMessage());
  }

  @Test
  void replaySeedReproducesFailure() {
    PropertyFailure first = failSet(new SetMachine(), 99);
    SetMachine machine = new SetMachine();
    PropertyFailure again = Toys.withProperty("mpsprot.check.seed", Long.toString(first.seed()),
        () -> failSet(machine, 5)); // builder seed must be ignored in replay
    assertEquals(first.seed(), again.seed());
    assertEquals(first.originalSize(), again.originalSize());
    assertEquals(first.counterexample(), again.counterexample());
    assertTrue(again.getMessage().contains("replayed sequence"), again.getMessage());
    assertAllClosedOnce(machine);
    assertEquals(null, System.getProperty("mpsprot.check.seed"), "property restored");
  }

  @Test
  void replayOfPassingSeedRunsOneSequence() {
    Result r = Toys.withProperty("mpsprot.check.seed", "-8", () ->
        StatefulProperty.of("bounded-stack", new StackMachine(false)).sequences(50).check());
    assertEquals(1, r.sequences());
    assertEquals(-8, r.seed());
    assertTrue(r.replay());
  }

  @Test
  void systemPropertiesOverrideBuilder() {
    Result r = Toys.withProperty("mpsprot.check.sequences", "7", () ->
        Toys.withProperty("mpsprot.check.maxActions", "3", () ->
            StatefulProperty.of("bounded-stack", new StackMachine(false)).sequences(500).maxActions(100).seed(3).check()));
    assertEquals(7, r.sequences());
    assertEquals(21, r.actions());
    assertThrows(IllegalArgumentException.class, () -> Toys.withProperty("mpsprot.check.sequences", "zero",
        () -> StatefulProperty.of("x", new StackMachine(false)).check()));
  }

  @Test
  void shrinkCandidatesMakeParametersSmaller() {
    BufferMachine machine = new BufferMachine();
    PropertyFailure f = assertThrows(PropertyFailure.class,
        () -> StatefulProperty.of("buffer", machine).seed(7).check());
    assertEquals(List.of(new Write(Toys.LIMIT)), f.counterexample());
    assertInstanceOf(IllegalStateException.class, f.getCause());
    assertTrue(f.getMessage().contains("Write[n=37]"), f.getMessage());
    assertAllClosedOnce(machine);
  }

  @Test
  void preconditionsAreRecheckedDuringShrinking() {
    // pop from a stack holding exactly 3 returns the wrong element; without precondition
    // re-checking, shrinking would end at [Pop()] failing with NoSuchElementException from the model
    StackMachine machine = new StackMachine(true);
    PropertyFailure f = assertThrows(PropertyFailure.class,
        () -> StatefulProperty.of("buggy-stack", machine).seed(11).check());
    List<?> shrunk = f.counterexample();
    assertEquals(4, shrunk.size(), "shrunk: " + shrunk);
    assertEquals(3, shrunk.stream().filter(a -> a instanceof Push).count(), "shrunk: " + shrunk);
    assertEquals(new Pop(), shrunk.get(3));
    assertInstanceOf(AssertionError.class, f.getCause());
    assertAllClosedOnce(machine);
  }

  @Test
  void closeSystemCalledOncePerSystemIncludingShrinking() {
    SetMachine machine = new SetMachine();
    PropertyFailure f = failSet(machine, 8);
    // one system per generated sequence up to the failing one, plus one per shrink run
    Matcher m = Pattern.compile("sequence (\\d+) of .*?in (\\d+) runs", Pattern.DOTALL).matcher(f.getMessage());
    assertTrue(m.find(), f.getMessage());
    int shrinkRuns = Integer.parseInt(m.group(2));
    assertTrue(shrinkRuns > 0, f.getMessage());
    assertEquals(Integer.parseInt(m.group(1)) + shrinkRuns, machine.created.size());
    assertAllClosedOnce(machine);
  }

  @Test
  void maxShrinkRunsBoundsShrinking() {
    SetMachine unbounded = new SetMachine(), bounded = new SetMachine();
    PropertyFailure full = failSet(unbounded, 21);
    PropertyFailure none = assertThrows(PropertyFailure.class,
        () -> StatefulProperty.of("buggy-set", bounded).seed(21).maxShrinkRuns(0).check());
    assertEquals(none.originalSize(), none.counterexample().size(), "no shrinking with budget 0");
    assertEquals(full.seed(), none.seed());
    assertTrue(full.counterexample().size() < none.counterexample().size());
    assertTrue(none.getMessage().contains("stopped at maxShrinkRuns"), none.getMessage());
    assertAllClosedOnce(bounded);
    assertNotEquals(unbounded.created.size(), bounded.created.size());
  }

  @Test
  void nullActionEndsSequence() {
    StateMachine<int[], Object> machine = new StateMachine<>() {
      @Override public int[] newModel() { return new int[1]; }
      @Override public Object newSystem() { return new Object(); }
      @Override public void closeSystem(Object system) {}
      @Override public Action<int[], Object> nextAction(int[] model, Rand rand) {
        return model[0] == 2 ? null : (m, s) -> m[0]++;
      }
    };
    Result r = StatefulProperty.of("two-steps", machine).sequences(10).check();
    assertEquals(20, r.actions());
  }

  @Test
  void closeFailureIsAPropertyFailure() {
    StateMachine<TreeSet<Integer>, Toys.BuggySet> leaky = new StateMachine<>() {
      @Override public TreeSet<Integer> newModel() { return new TreeSet<>(); }
      @Override public Toys.BuggySet newSystem() { return new Toys.BuggySet(); }
      @Override public void closeSystem(Toys.BuggySet s) { throw new IllegalStateException("leaked 1 page"); }
      @Override public Action<TreeSet<Integer>, Toys.BuggySet> nextAction(TreeSet<Integer> m, Rand r) { return new Toys.Contains(r.nextInt(5)); }
    };
    PropertyFailure f = assertThrows(PropertyFailure.class, () -> StatefulProperty.of("leaky", leaky).seed(1).check());
    assertEquals(List.of(), f.counterexample(), "failure needs no action at all");
    assertTrue(f.getMessage().contains("leaked 1 page"), f.getMessage());
  }
}
