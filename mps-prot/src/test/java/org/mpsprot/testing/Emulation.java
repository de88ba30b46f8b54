package org.mpsprot.testing;

import org.junit.jupiter.api.Assumptions;

/**
 * Whether the tests run under an emulator (docs/design/os.md .os.aarch64.java): the aarch64 run
 * (mps-prot/scripts/aarch64-java.sh) sets {@code -Dmpsprot.emulated=qemu-user}. A test that
 * cannot run under emulation for the emulator's own reasons skips with {@link #skip} or shrinks
 * its work with {@link #count}; both print one line naming the test and the reason, so that
 * nothing is left out silently.
 */
public final class Emulation {
  /** The system property naming the emulator; absent or blank natively. */
  public static final String PROPERTY = "mpsprot.emulated";

  private Emulation() {}

  /** The emulator's name ("qemu-user"), or "" when the tests run natively. */
  public static String emulator() {
    return System.getProperty(PROPERTY, "").trim();
  }

  public static boolean emulated() {
    return !emulator().isEmpty();
  }

  /**
   * Under emulation: prints "SKIPPED under EMULATOR: WHAT: WHY" and aborts the test with a
   * JUnit assumption carrying the same text (Surefire counts it as skipped). Natively: nothing.
   */
  public static void skip(String what, String why) {
    if (emulated()) {
      String line = "SKIPPED under " + emulator() + ": " + what + ": " + why;
      System.out.println(line);
      Assumptions.abort(line);
    }
  }

  /**
   * {@code full} natively; under emulation {@code -Dmpsprot.emulated.NAME=N} or else
   * {@code emulatedDefault}, with a printed line "SCALED under EMULATOR: WHAT: full -> n (WHY)".
   */
  public static int count(String name, String what, int full, int emulatedDefault, String why) {
    if (!emulated()) {
      return full;
    }
    int n = Integer.getInteger(PROPERTY + "." + name, emulatedDefault);
    System.out.println("SCALED under " + emulator() + ": " + what + ": " + full + " -> " + n + " (" + why + ")");
    return n;
  }
}
