package org.mpsprot.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.mpsprot.AccessSet;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.os.NativeBackend;

/**
 * Where the time of a splitting or merging ProtSet goes (docs/performance.md .primitives.split):
 * a prot1 loop then an unprot loop, a prot1_merged loop, and for comparison a same_mode loop
 * (which changes no mapping), as {@code primitives} runs them, each made three ways, interleaved in every
 * round: through the module ({@code Prot.set}), libc's mprotect called from Java by JNA (no
 * module), and the shim's C loop in this JVM process ({@code mpsprot_bench_loop}). For each way
 * it reads the calling thread's clocks around the loop: wall time, on-CPU time
 * ({@code CLOCK_THREAD_CPUTIME_ID}), of which user time (the kernel's tick-sampled split, read in 10 ms units),
 * the rest being system time, and wall minus
 * on-CPU (time the thread was runnable or waiting but not running). It also counts the thread's
 * voluntary context switches (it slept: in the kernel, a wait for a lock such as the process's
 * mmap lock) and involuntary ones (it was preempted). Prints the mean over rounds of each (the user/system split is
 * sampled at the kernel's tick, so only the sum over many rounds resolves it), per operation.
 *
 * <p>{@code java [--enable-native-access=ALL-UNNAMED] -cp mps-prot.jar
 * org.mpsprot.bench.CpuSplit [rounds] [pages]}
 */
public final class CpuSplit {
  private static final String[] WAYS = {"Prot.set (the module)", "libc mprotect from Java (JNA)",
      "C loop in this JVM"};
  private static final String[] OPS = {"prot1+unprot pair", "prot1_merged", "same_mode"};
  /** same_mode makes this many calls per page of the others' loops (each call is cheaper). */
  private static final long SAME_MODE_CALLS = 10;
  private static final String[] CLOCKS = {"wall", "on-CPU", "user", "system", "off-CPU", "vol. cs", "invol. cs"};

  private CpuSplit() {}

  /** One reading of the calling thread's clocks. */
  private record Clocks(long wall, long cpu, long user, long voluntary, long involuntary) {
    static Clocks now(ThreadMXBean t) {
      long[] switches = switches();
      return new Clocks(System.nanoTime(), t.getCurrentThreadCpuTime(), t.getCurrentThreadUserTime(),
          switches[0], switches[1]);
    }

    /** wall, on-CPU, user, system, off-CPU per operation, and the switches per 1000 operations. */
    double[] since(Clocks a, long ops) {
      double wallNs = wall - a.wall;
      double cpuNs = cpu - a.cpu;
      double userNs = user - a.user;
      return new double[] {wallNs / ops, cpuNs / ops, userNs / ops, (cpuNs - userNs) / ops,
          (wallNs - cpuNs) / ops, 1000.0 * (voluntary - a.voluntary) / ops,
          1000.0 * (involuntary - a.involuntary) / ops};
    }
  }

  /** The calling thread's voluntary and involuntary context switches so far. */
  private static long[] switches() {
    long[] n = new long[2];
    try {
      for (String line : Files.readAllLines(Path.of("/proc/thread-self/status"))) {
        int i = line.startsWith("voluntary_ctxt_switches:") ? 0
            : line.startsWith("nonvoluntary_ctxt_switches:") ? 1 : -1;
        if (i >= 0) {
          n[i] = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
        }
      }
    } catch (IOException | NumberFormatException e) {
      // no /proc: the switch columns read 0
    }
    return n;
  }

  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 40;
    long pages = args.length > 1 ? Long.parseLong(args[1]) : 25_000;
    if (!ManagementFactory.getThreadMXBean().isCurrentThreadCpuTimeSupported()) {
      System.out.println("this JVM cannot read the thread's CPU time");
      return;
    }
    double[][][] m = measure(rounds, pages, System.err);
    System.out.printf(Locale.ROOT, "ns per operation, mean of %d rounds of %d pages; backend %s%n",
        rounds, pages, NativeBackend.current());
    System.out.printf(Locale.ROOT, "  %-18s %-32s", "operation", "way");
    for (String c : CLOCKS) {
      System.out.printf(Locale.ROOT, " %9s", c);
    }
    System.out.println("  (cs: context switches per 1000 operations)");
    for (int op = 0; op < OPS.length; op++) {
      for (int way = 0; way < WAYS.length; way++) {
        System.out.printf(Locale.ROOT, "  %-18s %-32s", OPS[op], WAYS[way]);
        for (double x : m[op][way]) {
          System.out.printf(Locale.ROOT, " %9.1f", x);
        }
        System.out.println();
      }
    }
  }

  /**
   * Runs {@code rounds} interleaved rounds (after two of warm-up) over {@code pages} pages and
   * returns the mean per operation, indexed [operation][way][clock] in the order of the printed
   * table: operations prot1+unprot pair, prot1_merged, same_mode; ways the module, libc from Java, C in
   * this JVM; clocks wall, on-CPU, user, system, off-CPU (ns), voluntary and involuntary
   * switches (per 1000 operations). Regions of {@code 2 * pages + 1} pages: the prot1 loop
   * makes that many mappings, so pages must stay under half the process's map limit.
   */
  static double[][][] measure(int rounds, long pages, PrintStream progress) {
    Prot prot = Prot.setup();
    long page = prot.granularity();
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    threads.setThreadCpuTimeEnabled(true);
    double[][][] sum = new double[OPS.length][WAYS.length][CLOCKS.length];
    for (int round = -2; round < rounds; round++) { // two rounds of warm-up
      for (int op = 0; op < OPS.length; op++) {
        for (int way = 0; way < WAYS.length; way++) {
          try (Region r = prot.reserve((2 * pages + 1) * page)) {
            double[] o = measure(op, way, prot, r, page, pages, threads);
            for (int c = 0; c < CLOCKS.length && round >= 0; c++) {
              sum[op][way][c] += o[c] / rounds;
            }
          }
        }
      }
      progress.printf(Locale.ROOT, "round %d of %d done%n", round + 3, rounds + 2);
    }
    return sum;
  }

  /**
   * The clocks of one loop over a fresh region, per operation: op 0 is a prot1 loop then an
   * unprot loop (an operation is a prot1+unprot pair), op 1 a prot1_merged loop, op 2 a
   * same_mode loop of 10 calls per page (one page set to the mode it has: no mapping changes;
   * the C loop on a memfd of its own).
   */
  private static double[] measure(int op, int way, Prot prot, Region r, long page, long pages,
      ThreadMXBean t) {
    Clocks a = Clocks.now(t);
    if (way == 2) {
      int loop = op == 0 ? InProcessC.PROT1_AT : op == 1 ? InProcessC.PROT1_MERGED_AT : InProcessC.SAME_MODE;
      long n = op == 2 ? SAME_MODE_CALLS * pages : pages;
      InProcessC.run(loop, n, false, 0, op == 2 ? 0 : r.base());
      return Clocks.now(t).since(a, n);
    }
    if (op == 2) {
      long x = r.base() + page;
      for (long i = 0; i < SAME_MODE_CALLS * pages; i++) {
        if (way == 0) {
          prot.set(x, x + page, AccessSet.EMPTY);
        } else {
          RawMprotect.mprotect(x, page, RawMprotect.PROT_READ | RawMprotect.PROT_WRITE);
        }
      }
      return Clocks.now(t).since(a, SAME_MODE_CALLS * pages);
    }
    for (int pass = 0; pass < 2 - op; pass++) {
      boolean open = pass == 1;
      for (long i = 0; i < pages; i++) {
        long x = r.base() + (op == 0 ? 2 * i + 1 : i) * page;
        if (way == 0) {
          prot.set(x, x + page, open ? AccessSet.EMPTY : AccessSet.WRITE);
        } else {
          RawMprotect.mprotect(x, page, RawMprotect.PROT_READ | (open ? RawMprotect.PROT_WRITE : 0));
        }
      }
    }
    return Clocks.now(t).since(a, pages);
  }
}
