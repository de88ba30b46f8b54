package org.mpsprot.check;

import java.util.List;

/**
 * One step of a stateful (model-based) test: an immutable description of an operation, applied
 * both to the model and to the real system.
 *
 * <p><b>Contract:</b>
 * <ul>
 *   <li>An action is an immutable value (a {@code record} is ideal). It can be run any number of
 *       times, each time against a fresh model and system, during shrinking and replay.</li>
 *   <li>{@link #toString()} must describe the action as data (its kind and parameters), because
 *       failure reports print the shrunk sequence one action per line using it.</li>
 *   <li>{@link #precondition} must be a pure function of the model. During replay and shrinking,
 *       an action whose precondition is false is silently skipped (dropped from the sequence).</li>
 *   <li>{@link #run} must be deterministic given the model state and the system's behaviour.</li>
 * </ul>
 *
 * @param <M> the model type
 * @param <S> the type of the system under test
 */
public interface Action<M, S> {

  /** Whether this action may run in the given model state; must not modify the model. Default: true. */
  default boolean precondition(M model) {
    return true;
  }

  /**
   * Applies the action to the model and to the system, and checks the postcondition (e.g. that
   * the system returned what the model predicts). Any exception or {@link AssertionError}
   * counts as a failure of the property.
   */
  void run(M model, S system) throws Exception;

  /**
   * Describes the action as data, e.g. {@code Write[n=37]} (records do this automatically).
   * Failure reports print shrunk sequences one action per line with it.
   */
  @Override
  String toString();

  /**
   * Simpler variants of this action (e.g. smaller parameters) that the shrinker tries in its
   * place, in the given order. Must not contain an action equal to this one (such candidates
   * are ignored). Default: none.
   */
  default List<Action<M, S>> shrinkCandidates() {
    return List.of();
  }
}
