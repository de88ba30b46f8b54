package org.mpsprot.bench;

import java.util.Arrays;
import java.util.Locale;
import org.mpsprot.AccessSet;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.os.NativeBackend;
import org.mpsprot.os.ProtOs;

/**
 * Where the time of one ProtSet goes (docs/performance.md .primitives.path): the same_mode call
 * (one page to the mode it has) made five ways, interleaved in each round so that every way
 * sees the same machine state: through the module ({@code Prot.set}); through the OS seam
 * alone ({@code ProtOs.protect}: the backend's call of mpsprot_protect, no Java checks, no
 * lock, no lookup); libc's mprotect called from Java by JNA; the shim's mpsprot_protect in a C
 * loop in this process; plain mprotect in a C loop in this process. Differences between
 * neighbours are what each layer adds. Prints the median over rounds of each, in ns per call.
 *
 * <p>{@code java [--enable-native-access=ALL-UNNAMED] -cp mps-prot.jar
 * org.mpsprot.bench.PathBreakdown [rounds] [calls]}
 */
public final class PathBreakdown {
  private PathBreakdown() {}

  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
    int calls = args.length > 1 ? Integer.parseInt(args[1]) : 200_000;
    Prot prot = Prot.setup();
    long page = prot.granularity();
    ProtOs os = ProtOs.current();
    double[][] v = new double[5][rounds];
    try (Region r = prot.reserve(3 * page)) {
      int slot = InProcessC.mpsprot_region_find(r.base());
      long b = r.base() + page;
      for (int round = -3; round < rounds; round++) { // three rounds of warm-up
        long t0 = System.nanoTime();
        for (int i = 0; i < calls; i++) {
          prot.set(b, b + page, AccessSet.EMPTY);
        }
        long t1 = System.nanoTime();
        for (int i = 0; i < calls; i++) {
          os.protect(slot, page, page, 0);
        }
        long t2 = System.nanoTime();
        for (int i = 0; i < calls; i++) {
          RawMprotect.mprotect(b, page, RawMprotect.PROT_READ | RawMprotect.PROT_WRITE);
        }
        long t3 = System.nanoTime();
        double shim = InProcessC.run(InProcessC.SAME_MODE_SHIM, calls, false, slot, r.base())[0];
        double plain = InProcessC.run(InProcessC.SAME_MODE, calls, false, 0, 0)[0];
        if (round >= 0) {
          v[0][round] = (t1 - t0) / (double) calls;
          v[1][round] = (t2 - t1) / (double) calls;
          v[2][round] = (t3 - t2) / (double) calls;
          v[3][round] = shim;
          v[4][round] = plain;
        }
      }
    }
    String[] names = {"Prot.set (the module)", "ProtOs.protect (the backend's call)",
        "libc mprotect from Java (JNA)", "mpsprot_protect in C, in this JVM", "mprotect in C, in this JVM"};
    System.out.println("same_mode, ns per call, median of " + rounds + " rounds of " + calls
        + " calls; backend " + NativeBackend.current());
    for (int i = 0; i < names.length; i++) {
      double[] s = v[i].clone();
      Arrays.sort(s);
      System.out.printf(Locale.ROOT, "  %-38s %8.1f  (min %.1f)%n", names[i], s[rounds / 2], s[0]);
    }
  }
}
