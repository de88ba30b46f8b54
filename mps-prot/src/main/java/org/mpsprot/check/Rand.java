package org.mpsprot.check;

import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A deterministic source of pseudo-random values, created from a {@code long} seed.
 *
 * <p><b>Determinism:</b> two instances created with the same seed return the same values for the
 * same sequence of method calls, on every JVM and platform (it is backed by
 * {@link SplittableRandom}, whose algorithm is specified).
 *
 * <p><b>Thread-safety:</b> not thread-safe; use one instance per thread (see {@link #split()}).
 *
 * <p>All ranges are half-open: the lower bound is inclusive, the upper bound exclusive. Invalid
 * bounds throw {@link IllegalArgumentException}. Nothing is printed.
 */
public final class Rand {
  private final long seed;
  private final SplittableRandom random;

  /** Creates a source whose whole output is determined by {@code seed}. */
  public Rand(long seed) {
    this.seed = seed;
    this.random = new SplittableRandom(seed);
  }

  /** The seed this source was created with (not its current state). */
  public long seed() {
    return seed;
  }

  /** A value in {@code [0, boundExclusive)}; {@code boundExclusive} must be positive. */
  public int nextInt(int boundExclusive) {
    return random.nextInt(boundExclusive);
  }

  /** A value in {@code [lo, hiExclusive)}; requires {@code lo < hiExclusive}. */
  public int nextInt(int lo, int hiExclusive) {
    return random.nextInt(lo, hiExclusive);
  }

  /** A value in {@code [lo, hiExclusive)}; requires {@code lo < hiExclusive}. */
  public long nextLong(long lo, long hiExclusive) {
    return random.nextLong(lo, hiExclusive);
  }

  /** A fair coin flip. */
  public boolean nextBoolean() {
    return random.nextBoolean();
  }

  /** A value in {@code [0.0, 1.0)}. */
  public double nextDouble() {
    return random.nextDouble();
  }

  /** A uniformly chosen element of a non-empty list. */
  public <T> T pick(List<T> values) {
    Objects.requireNonNull(values, "values");
    if (values.isEmpty()) throw new IllegalArgumentException("pick from an empty list");
    return values.get(random.nextInt(values.size()));
  }

  /** A uniformly chosen element of a non-empty array (the array is not modified). */
  @SafeVarargs
  public final <T> T pick(T... values) {
    if (values.length == 0) throw new IllegalArgumentException("pick from an empty array");
    return values[random.nextInt(values.length)];
  }

  /**
   * A new, independent source whose seed is drawn from this one. Advances this source by one
   * draw, so the result is itself deterministic.
   */
  public Rand split() {
    return new Rand(random.nextLong());
  }

  @Override
  public String toString() {
    return "Rand[seed=" + seed + "]";
  }
}
