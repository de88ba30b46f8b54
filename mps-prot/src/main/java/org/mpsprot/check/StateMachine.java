package org.mpsprot.check;

/**
 * Describes a stateful test: how to create the model and the real system, and how to generate
 * actions. Used by {@link StatefulProperty}.
 *
 * <p><b>Contract:</b> {@link #newModel()} returns a fresh model in the initial state each time;
 * {@link #newSystem()} returns a fresh, independent system under test in the corresponding
 * initial state. For every system returned by {@code newSystem()}, the runner calls
 * {@link #closeSystem} exactly once, also when an action, the invariant or generation failed.
 * {@link #nextAction} must draw all randomness from the given {@link Rand}, so that a sequence is
 * reproducible from its seed. The runner uses the machine from one thread, one run at a time.
 *
 * @param <M> the model type
 * @param <S> the type of the system under test
 */
public interface StateMachine<M, S> {

  /** A fresh model in its initial state. */
  M newModel();

  /** A fresh system under test in the initial state. */
  S newSystem() throws Exception;

  /** Releases a system created by {@link #newSystem()}; called exactly once per system. */
  void closeSystem(S system) throws Exception;

  /**
   * An action valid in the current model state (its precondition should hold), or {@code null}
   * to end the current sequence early. Must not modify the model.
   */
  Action<M, S> nextAction(M model, Rand rand);

  /** Checked after every action; throws on violation. Default: no invariant. */
  default void checkInvariant(M model, S system) throws Exception {}

  /**
   * A state machine from four functions, for properties that fit in a few lines:
   *
   * <pre>{@code
   * StatefulProperty.of("stack", StateMachine.of(ArrayDeque::new, BoundedStack::new,
   *     BoundedStack::close, (model, rand) -> rand.nextBoolean() ? new Push(rand.nextInt(9)) : new Pop()));
   * }</pre>
   *
   * @param newModel a fresh model per sequence
   * @param newSystem a fresh system per sequence
   * @param closeSystem releases a system (called once per system)
   * @param nextAction the next action for the model's state (see {@link #nextAction})
   */
  static <M, S> StateMachine<M, S> of(java.util.function.Supplier<? extends M> newModel,
      java.util.concurrent.Callable<? extends S> newSystem, ThrowingConsumer<? super S> closeSystem,
      java.util.function.BiFunction<? super M, Rand, ? extends Action<M, S>> nextAction) {
    java.util.Objects.requireNonNull(newModel, "newModel");
    java.util.Objects.requireNonNull(newSystem, "newSystem");
    java.util.Objects.requireNonNull(closeSystem, "closeSystem");
    java.util.Objects.requireNonNull(nextAction, "nextAction");
    return new StateMachine<>() {
      @Override
      public M newModel() {
        return newModel.get();
      }

      @Override
      public S newSystem() throws Exception {
        return newSystem.call();
      }

      @Override
      public void closeSystem(S system) throws Exception {
        closeSystem.accept(system);
      }

      @Override
      public Action<M, S> nextAction(M model, Rand rand) {
        return nextAction.apply(model, rand);
      }
    };
  }
}
