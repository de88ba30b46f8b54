package org.mpsprot.check;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Thrown when a property fails. Its message is the full failure report (the same text that is
 * printed to {@code System.err}): property name, the failing sequence's seed and the
 * {@code -Dmpsprot.check.seed=} setting that replays it, the counterexample and the cause.
 * {@link #getCause()} is the exception thrown by the (shrunk) counterexample. It extends
 * {@link AssertionError} so that test frameworks report it as a test failure.
 */
public final class PropertyFailure extends AssertionError {
  private static final long serialVersionUID = 1L;

  private final String property;
  private final long seed;
  private final transient List<?> counterexample;
  private final int originalSize;

  PropertyFailure(String property, long seed, String report, Throwable cause, List<?> counterexample, int originalSize) {
    super(report, cause);
    this.property = property;
    this.seed = seed;
    this.counterexample = Collections.unmodifiableList(new ArrayList<>(counterexample));
    this.originalSize = originalSize;
  }

  /** The property name. */
  public String property() {
    return property;
  }

  /** The seed of the failing sequence (or value); pass it as {@code -Dmpsprot.check.seed} to replay. */
  public long seed() {
    return seed;
  }

  /**
   * The counterexample: for {@link StatefulProperty} the shrunk action sequence (the
   * {@link Action} objects, in order); for {@link Property} a one-element list holding the
   * failing value.
   */
  public List<?> counterexample() {
    return counterexample;
  }

  /** The size of the counterexample before shrinking (number of actions run, or 1). */
  public int originalSize() {
    return originalSize;
  }
}
