package org.mpsprot.check;

import java.util.Collections;
import java.util.Objects;

/**
 * Simple (non-stateful) properties: "for all generated values, the body does not throw".
 *
 * <p><b>Seeds and replay:</b> try {@code i} generates its value from its own seed, derived
 * deterministically from the base seed and {@code i}; the base seed is the {@code seed} argument
 * or, if absent, time-based. System properties take precedence over arguments:
 * <ul>
 *   <li>{@code -Dmpsprot.check.seed.KEY=S} replays this property only (KEY: the name with every
 *       run of characters other than letters, digits, '_', '.' and '-' made one '_'; the failure
 *       report prints the exact flag): only the single try with seed {@code S} runs;</li>
 *   <li>{@code -Dmpsprot.check.seed=S} replays every property of the JVM that has no seed of
 *       its own the same way;</li>
 *   <li>{@code -Dmpsprot.check.sequences=N} overrides {@code tries}.</li>
 * </ul>
 *
 * <p><b>Output:</b> on success one line {@code property NAME: N values, seed S: ok} on
 * {@code System.out}; on failure the report (name, the try's seed, the replay setting, the
 * failing value's {@code toString} and the cause) is printed on {@code System.err} and thrown as
 * a {@link PropertyFailure}. Values are not shrunk.
 *
 * <p><b>Thread-safety:</b> the methods are stateless, but they read global system properties and
 * the generator and body are called on the calling thread only.
 */
public final class Property {
  private Property() {}

  /** Checks {@code body} on {@code tries} values from {@code gen}, with a time-based base seed. */
  public static <T> Result forAll(String name, Gen<T> gen, int tries, ThrowingConsumer<? super T> body) {
    return run(name, gen, tries, null, null, body);
  }

  /** As {@link #forAll(String, Gen, int, ThrowingConsumer)}, with a fixed base seed. */
  public static <T> Result forAll(String name, Gen<T> gen, int tries, long seed, ThrowingConsumer<? super T> body) {
    return run(name, gen, tries, seed, null, body);
  }

  /**
   * The runner: {@code seed} null for a time-based base seed; {@code replay} the try seed to
   * replay unless a system property names one (null: none).
   */
  static <T> Result run(String name, Gen<T> gen, int tries, Long seed, Long replaySeed,
      ThrowingConsumer<? super T> body) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(gen, "gen");
    Objects.requireNonNull(body, "body");
    Settings.positive("tries", tries);
    Long fromProperty = Settings.replaySeed(Objects.requireNonNull(name, "name"));
    Long replay = fromProperty != null ? fromProperty : replaySeed;
    int count = replay != null ? 1 : Settings.intProperty(Settings.SEQUENCES, tries);
    long base = replay != null ? replay : seed != null ? seed : Settings.freshSeed();
    for (int i = 0; i < count; i++) {
      long trySeed = replay != null ? replay : Settings.sequenceSeed(base, i);
      Object value = "<not generated: generator threw>";
      try {
        T v = gen.next(new Rand(trySeed));
        value = v;
        body.accept(v);
      } catch (Exception | AssertionError e) {
        String report = "Property '" + name + "' failed"
            + (replay != null ? " (replayed value)" : " on value " + (i + 1) + " of " + count) + "\n"
            + "  seed:        " + trySeed + "\n"
            + "  replay with: " + Settings.replayHint(name, trySeed, "") + "\n"
            + "  base seed:   " + base + "\n"
            + "  value:       " + value + "\n"
            + "  cause:       " + e;
        System.err.println(report);
        throw new PropertyFailure(name, trySeed, report, e, Collections.singletonList(value), 1);
      }
    }
    System.out.println("property " + name + ": " + count + " values, seed " + base + ": ok");
    return new Result(name, count, count, base, replay != null);
  }
}
