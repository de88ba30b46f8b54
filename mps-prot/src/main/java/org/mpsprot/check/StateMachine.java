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
}
