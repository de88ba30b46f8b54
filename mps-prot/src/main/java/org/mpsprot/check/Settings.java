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
    String v = System.getProperty(SEED);
    if (v == null || v.isBlank()) return null;
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("system property " + SEED + " must be a long, was '" + v + "'", e);
    }
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
