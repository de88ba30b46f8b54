package org.mpsprot.check;

import java.util.ArrayDeque;

/**
 * Run by {@link HarnessWithoutJunitTest} in a JVM whose class path has no JUnit: the harness
 * (Property, StatefulProperty, StateMachine.of, the per-property replay) works without it. Must
 * not reference JUnit.
 */
public final class NoJunitMain {
  private NoJunitMain() {}

  record Push(int x) implements Action<ArrayDeque<Integer>, ArrayDeque<Integer>> {
    @Override
    public void run(ArrayDeque<Integer> model, ArrayDeque<Integer> system) {
      model.push(x);
      system.push(x);
      if (model.size() != system.size() || !model.peek().equals(system.peek())) throw new AssertionError("differ");
    }
  }

  public static void main(String[] args) {
    Property.forAll("ints", Gen.ints(0, 9), 20, 1L, x -> {
      if (x > 9) throw new AssertionError(x);
    });
    Result r = StatefulProperty.of("stack", StateMachine.<ArrayDeque<Integer>, ArrayDeque<Integer>>of(
        ArrayDeque::new, ArrayDeque::new, s -> {}, (m, rand) -> new Push(rand.nextInt(5)))).sequences(10).seed(2).check();
    System.out.println("harness without JUnit: " + r.sequences() + " sequences, replay " + r.replay());
  }
}
