package org.mpsprot.check;

import java.util.concurrent.atomic.AtomicLong;

/** System properties and seed arithmetic shared by the runners. */
final class Settings {
  static final String SEED = "mpsprot.check.seed";
  static final String SEQUENCES = "mpsprot.check.sequences";
  static final String MAX_ACTIONS = "mpsprot.check.maxActions";

  private static final long GOLDEN = 0x9E3779B97F4A7C15L;
  private static final AtomicLong FRESH = new AtomicLong();

  private Settings() {}

  /** The replay seed from {@code -Dmpsprot.check.seed}, or null if unset/blank. */
  static Long replaySeed() {
    return longProperty(SEED);
  }

  /**
   * The replay seed of the property named {@code name}: {@code -Dmpsprot.check.seed.KEY} (KEY =
   * {@link #key(String)} of the name) if set, else {@code -Dmpsprot.check.seed}, else null.
   */
  static Long replaySeed(String name) {
    Long own = longProperty(seedProperty(name));
    return own != null ? own : replaySeed();
  }

  /** The system property that replays only the property named {@code name}. */
  static String seedProperty(String name) {
    return SEED + "." + key(name);
  }

  /**
   * A property name as a system property key: every run of characters other than ASCII letters,
   * digits, '_', '.' and '-' becomes one '_' ("module = model" becomes "module_model").
   */
  static String key(String name) {
    String k = name.replaceAll("[^A-Za-z0-9_.\\-]+", "_");
    if (k.length() > 1 && k.startsWith("_")) k = k.substring(1);
    if (k.length() > 1 && k.endsWith("_")) k = k.substring(0, k.length() - 1);
    return k.isEmpty() ? "_" : k;
  }

  private static Long longProperty(String key) {
    String v = System.getProperty(key);
    if (v == null || v.isBlank()) return null;
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("system property " + key + " must be a long, was '" + v + "'", e);
    }
  }

  /** The replay lines of a failure report: the per-property flag first, then the global one. */
  static String replayHint(String name, long seed, String indent) {
    return "-D" + seedProperty(name) + "=" + seed + " (this property only)\n"
        + indent + "or:            -D" + SEED + "=" + seed + " (every property in the JVM)";
  }

  /** The positive int from system property {@code key}, or {@code fallback} if unset/blank. */
  static int intProperty(String key, int fallback) {
    String v = System.getProperty(key);
    if (v == null || v.isBlank()) return fallback;
    try {
      int n = Integer.parseInt(v.trim());
      if (n > 0) return n;
    } catch (NumberFormatException ignored) {
      // fall through
    }
    throw new IllegalArgumentException("system property " + key + " must be a positive int, was '" + v + "'");
  }

  static boolean isSet(String key) {
    String v = System.getProperty(key);
    return v != null && !v.isBlank();
  }

  /** The seed of sequence {@code index} (0-based) of a run with base seed {@code base}. */
  static long sequenceSeed(long base, int index) {
    return mix64(base + (index + 1L) * GOLDEN);
  }

  /** A time-based base seed, different on every call. */
  static long freshSeed() {
    return mix64(System.nanoTime() ^ System.currentTimeMillis() * GOLDEN ^ FRESH.incrementAndGet() * 31);
  }

  /** The SplitMix64 finalizer. */
  static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  static int positive(String what, int n) {
    if (n <= 0) throw new IllegalArgumentException(what + " must be positive, was " + n);
    return n;
  }
}
