package org.mpsprot.check;

/**
 * The body of a {@link Property}: checks one value, signalling failure by throwing (typically an
 * {@link AssertionError} from a JUnit assertion).
 *
 * @param <T> the type of the checked value
 */
@FunctionalInterface
public interface ThrowingConsumer<T> {
  /** Checks {@code value}; returns normally iff the property holds for it. */
  void accept(T value) throws Exception;
}
