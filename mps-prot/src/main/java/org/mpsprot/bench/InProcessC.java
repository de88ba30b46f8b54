package org.mpsprot.bench;

import com.sun.jna.Native;
import org.mpsprot.os.ShimLibrary;

/**
 * The primitives' loops in C inside this JVM process: the shim's {@code mpsprot_bench_loop}
 * (bench_linux.c; docs/performance.md .primitives.inproc), called once per loop, so the call's
 * own cost does not count. Bound by JNA whatever the backend (one call per repetition).
 */
final class InProcessC {
  static final int PROT1 = 0;
  static final int PROT1_MERGED = 1;
  static final int SAME_MODE = 2;
  static final int PROTN = 3;
  static final int TRAP_UNPROT = 4;
  static final int SAME_MODE_SHIM = 5;
  static final int PROT1_AT = 6;
  static final int PROT1_MERGED_AT = 7;

  static {
    Native.register(InProcessC.class, ShimLibrary.INSTANCE);
  }

  private InProcessC() {}

  /** The slot of the region holding address, or -1. */
  static native int mpsprot_region_find(long address);

  private static native int mpsprot_bench_loop(int which, long n, int busy, int slot, long base, double[] out);

  /** Runs loop {@code which} over n operations; returns out (ns per operation). */
  static double[] run(int which, long n, boolean busy, int slot, long base) {
    double[] out = new double[2];
    int err = mpsprot_bench_loop(which, n, busy ? 1 : 0, slot, base, out);
    if (err != 0) {
      throw new IllegalStateException("mpsprot_bench_loop(" + which + ") failed: errno " + err);
    }
    return out;
  }
}
