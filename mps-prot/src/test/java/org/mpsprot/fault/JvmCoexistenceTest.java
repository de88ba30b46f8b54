package org.mpsprot.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.FaultCounters;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.testing.ChildJvm;

/**
 * With the module's handler installed in front of the JVM's, the JVM's own uses of SIGSEGV keep
 * working: implicit null checks, stack banging, division by zero, range checks, in JIT-compiled
 * loops; and a fault outside every region still ends in the JVM's fatal-error report.
 */
class JvmCoexistenceTest {
  private static final int ITERATIONS = 300_000;
  private static Region region;

  @BeforeAll
  static void installHandler() {
    Prot prot = Prot.setup();
    region = prot.reserve(prot.granularity());
    region.setPolicy(BarrierPolicy.UNPROTECT);
    assertTrue(prot.handlerInstalled());
  }

  static int field;

  static final class Box {
    int value;
  }

  private static int deref(Box b) {
    return b.value;
  }

  private static int divide(int a, int b) {
    return a / b;
  }

  private static int index(int[] a, int i) {
    return a[i];
  }

  private static int recurse(int depth) {
    return depth == Integer.MAX_VALUE ? depth : recurse(depth + 1) + 1;
  }

  @org.junit.jupiter.api.AfterAll
  static void closeRegion() {
    region.close();
  }

  @Test
  void implicitNullChecksStillBecomeNullPointerExceptions() {
    Box box = new Box();
    int caught = 0;
    for (int i = 0; i < ITERATIONS; i++) {
      try {
        field += deref((i & 7) == 0 ? null : box);
      } catch (NullPointerException e) {
        caught++;
      }
    }
    assertEquals(ITERATIONS / 8, caught);
  }

  @Test
  void divisionByZeroAndRangeChecksStillThrow() {
    int arithmetic = 0;
    int bounds = 0;
    int[] a = new int[4];
    for (int i = 0; i < ITERATIONS; i++) {
      try {
        field += divide(i, i & 3);
      } catch (ArithmeticException e) {
        arithmetic++;
      }
      try {
        field += index(a, i & 7);
      } catch (ArrayIndexOutOfBoundsException e) {
        bounds++;
      }
    }
    assertEquals(ITERATIONS / 4, arithmetic);
    assertEquals(ITERATIONS / 2, bounds);
  }

  @Test
  void stackOverflowStillBecomesStackOverflowError() {
    FaultCounters before = Prot.setup().counters();
    for (int round = 0; round < 3; round++) {
      boolean overflowed = false;
      try {
        recurse(0);
      } catch (StackOverflowError e) {
        overflowed = true;
      }
      assertTrue(overflowed);
    }
    FaultCounters d = Prot.setup().counters().minus(before);
    assertEquals(0, d.failFast());
  }

  @Test
  void aFaultOutsideEveryRegionEndsInTheJvmsFatalErrorReport() throws Exception {
    ChildJvm.Result r = ChildJvm.run(CrashChild.class, 60, List.of("-Xmx64m"), "unmapped");
    assertFalse(r.timedOut(), "the child hung:\n" + r.output());
    assertTrue(r.output().contains("READY handler=true"), r.output());
    assertTrue(r.output().contains("A fatal error has been detected by the Java Runtime Environment"), r.output());
    assertTrue(r.output().contains("SIGSEGV"), r.output());
    assertFalse(r.output().contains("READ "), "the read must not have returned");
    assertTrue(r.exit() != 0, "exit " + r.exit());
  }
}
