package org.mpsprot.bench;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.mpsprot.AccessSet;
import org.mpsprot.Accessors;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.HandoffFallback;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.barrier.BarrierCosts;
import org.mpsprot.barrier.Strategies;
import org.mpsprot.os.NativeBackend;

/**
 * {@code java -jar mps-prot.jar primitives}: the Appel-Li primitives through the module's Java
 * API beside the same primitives in C (docs/performance.md), in one run on the same machine
 * state. Each Java primitive mirrors its C twin in src/bench/c/primitives.c: the same memory
 * layout, the same order of calls, the same number of pages. Two C columns: the standalone C
 * program (no JVM), and the same loop run by the shim inside this JVM process
 * ({@code mpsprot_bench_loop}, called once per repetition right after the Java loop); Java /
 * in-process C is what the module's Java path adds (.primitives.inproc).
 */
public final class Primitives {
  /**
   * One row: the Java figure (median, min, max ns per operation) and the C median or null. The
   * write-barrier rows (dirty_*) carry the median of {@link BarrierCosts} as all three figures.
   */
  public record Row(String name, double javaNs, double javaMin, double javaMax, Double cNs,
      Double cInProcessNs, String backend) {
    public Row(String name, double javaNs, double javaMin, double javaMax, Double cNs) {
      this(name, javaNs, javaMin, javaMax, cNs, null, NativeBackend.current().kind().name().toLowerCase(Locale.ROOT));
    }

    /** Java / the standalone C program. */
    public Double ratio() {
      return cNs == null ? null : javaNs / cNs;
    }

    /** Java / the same loop in C inside this JVM process: what the module's Java path adds. */
    public Double ratioInProcess() {
      return cInProcessNs == null ? null : javaNs / cInProcessNs;
    }
  }

  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();
  private final int repetitions;
  private final long pages;

  public Primitives(int repetitions, long pages) {
    if (repetitions < 1 || pages < 1) {
      throw new IllegalArgumentException("repetitions and pages must be at least 1: " + repetitions + ", " + pages);
    }
    this.repetitions = repetitions;
    this.pages = pages;
  }

  /** Runs every primitive (one warm-up repetition first, not counted), then the C baseline. */
  public List<Row> run(PrintStream progress) throws Exception {
    double[][] prot1 = new double[2][repetitions];
    double[][] raw = new double[2][repetitions];
    double[] merged = new double[repetitions];
    double[] protn = new double[repetitions];
    double[] map2 = new double[repetitions];
    double[] sameMode = new double[repetitions];
    double[] sameModeRaw = new double[repetitions];
    double[] trap = new double[repetitions];
    double[] trapAccessor = new double[repetitions];
    double[] handoff = new double[repetitions];
    double[] stepLoad = new double[repetitions];
    double[] stepStore = new double[repetitions];
    double[][] cIn = new double[2][repetitions];
    double[] cInMerged = new double[repetitions];
    double[] cInProtn = new double[repetitions];
    double[] cInSame = new double[repetitions];
    double[] cInSameShim = new double[repetitions];
    double[] cInTrap = new double[repetitions];
    double[][] busy = new double[2][repetitions];
    double[][] cInBusy = new double[2][repetitions];
    progress.println("primitives: warm-up");
    for (int w = 0; w < 3; w++) {
      protUnprot(new double[2][1], 0);
      rawProtUnprot(new double[2][1], 0);
      prot1Merged();
      protN(pages * 4);
      map2();
      sameMode(pages * 10, false);
      sameMode(pages * 10, true);
      trapUnprot(false);
      trapUnprot(true);
      handoff();
      step(false);
      step(true);
      protUnprotBusy(new double[2][1], 0);
      inProcess(new double[2][1], new double[1], new double[1], new double[1], new double[1], new double[1],
          new double[2][1], 0);
    }
    for (int r = 0; r < repetitions; r++) {
      progress.printf("primitives: Java repetition %d of %d%n", r + 1, repetitions);
      protUnprot(prot1, r);
      rawProtUnprot(raw, r);
      merged[r] = prot1Merged();
      protn[r] = protN(pages * 4);
      map2[r] = map2();
      sameMode[r] = sameMode(pages * 10, false);
      sameModeRaw[r] = sameMode(pages * 10, true);
      trap[r] = trapUnprot(false);
      trapAccessor[r] = trapUnprot(true);
      handoff[r] = handoff();
      stepLoad[r] = step(false);
      stepStore[r] = step(true);
      protUnprotBusy(busy, r);
      inProcess(cIn, cInMerged, cInProtn, cInSame, cInSameShim, cInTrap, cInBusy, r);
    }
    progress.println("primitives: C baseline");
    Map<String, CBaseline.Figure> c = CBaseline.run(repetitions, pages);
    List<Row> rows = new ArrayList<>();
    rows.add(row("prot1", prot1[0], c, "prot1", cIn[0]));
    rows.add(row("prot1_raw_jna", raw[0], c, "prot1", cIn[0]));
    rows.add(row("prot1_merged", merged, c, "prot1_merged", cInMerged));
    rows.add(row("unprot", prot1[1], c, "unprot", cIn[1]));
    rows.add(row("unprot_raw_jna", raw[1], c, "unprot", cIn[1]));
    rows.add(row("protn_per_page", protn, c, "protn_per_page", cInProtn));
    rows.add(row("same_mode", sameMode, c, "same_mode", cInSame));
    rows.add(row("same_mode_raw_jna", sameModeRaw, c, "same_mode", cInSame));
    rows.add(row("same_mode_via_shim", sameMode, c, null, cInSameShim));
    rows.add(row("prot1_busy", busy[0], c, null, cInBusy[0]));
    rows.add(row("unprot_busy", busy[1], c, null, cInBusy[1]));
    rows.add(row("map2", map2, c));
    rows.add(row("trap_unprot", trap, c, "trap_unprot", cInTrap));
    rows.add(row("trap_unprot_accessor", trapAccessor, c, "trap_unprot", cInTrap));
    rows.add(row("handoff", handoff, c));
    rows.add(row("step_load", stepLoad, c));
    rows.add(row("step_store", stepStore, c));
    progress.println("primitives: write barriers (first write and harvest per page)");
    BarrierCosts costs = new BarrierCosts((int) Math.max(16, Math.min(pages, 4096)), repetitions);
    for (BarrierCosts.Row b : costs.measure(Strategies.all(), progress)) {
      if (b.availability().available()) {
        rows.add(new Row("dirty_first_write_" + b.strategy(), b.hitNs(), b.hitNs(), b.hitNs(), null));
        rows.add(new Row("dirty_harvest_per_page_" + b.strategy(), b.harvestContiguousNs(),
            b.harvestContiguousNs(), b.harvestContiguousNs(), null));
      }
    }
    return rows;
  }

  private static Row row(String name, double[] v, Map<String, CBaseline.Figure> c) {
    return row(name, v, c, name);
  }

  /** A row whose C counterpart is {@code cName} (null when C has none). */
  private static Row row(String name, double[] v, Map<String, CBaseline.Figure> c, String cName) {
    return row(name, v, c, cName, null);
  }

  /** The same with the in-process C figures of each repetition (null: none). */
  private static Row row(String name, double[] v, Map<String, CBaseline.Figure> c, String cName,
      double[] inProcess) {
    double[] s = v.clone();
    Arrays.sort(s);
    CBaseline.Figure f = cName == null ? null : c.get(cName);
    return new Row(name, s[s.length / 2], s[0], s[s.length - 1], f == null ? null : f.median(),
        inProcess == null ? null : median(inProcess),
        NativeBackend.current().kind().name().toLowerCase(Locale.ROOT));
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  /**
   * prot1 and unprot as {@link #protUnprot} while a second thread spins on another core: a
   * protection-reducing mprotect must then shoot down that CPU's TLB (.primitives.busy).
   */
  private void protUnprotBusy(double[][] out, int rep) throws InterruptedException {
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    Thread spinner = new Thread(() -> {
      long x = 0;
      while (!stop.get()) {
        x++;
      }
      if (x == 42) {
        System.out.print("");
      }
    }, "mps-prot-primitives-spinner");
    spinner.setDaemon(true);
    spinner.start();
    try {
      protUnprot(out, rep);
    } finally {
      stop.set(true);
      spinner.join();
    }
  }

  /** The same loops in C inside this process, repetition {@code rep} (mpsprot_bench_loop). */
  private void inProcess(double[][] prot1, double[] merged, double[] protn, double[] same,
      double[] sameShim, double[] trap, double[][] busy, int rep) {
    // prot1, unprot and prot1_merged on a region of the module, as the Java loops: the same
    // memory layout (the views between guard pages), plain mprotect.
    double[] o;
    try (Region r = prot.reserve((2 * pages + 1) * page)) {
      o = InProcessC.run(InProcessC.PROT1_AT, pages, false, 0, r.base());
    }
    prot1[0][rep] = o[0];
    prot1[1][rep] = o[1];
    try (Region r = prot.reserve((pages + 1) * page)) {
      merged[rep] = InProcessC.run(InProcessC.PROT1_MERGED_AT, pages, false, 0, r.base())[0];
    }
    protn[rep] = InProcessC.run(InProcessC.PROTN, pages * 4, false, 0, 0)[0];
    same[rep] = InProcessC.run(InProcessC.SAME_MODE, pages * 10, false, 0, 0)[0];
    try (Region r = prot.reserve(3 * page)) {
      sameShim[rep] = InProcessC.run(InProcessC.SAME_MODE_SHIM, pages * 10, false,
          InProcessC.mpsprot_region_find(r.base()), r.base())[0];
    }
    try (Region r = prot.reserve(page)) {
      r.setPolicy(BarrierPolicy.UNPROTECT);
      trap[rep] = InProcessC.run(InProcessC.TRAP_UNPROT, pages, false,
          InProcessC.mpsprot_region_find(r.base()), r.base())[0];
    }
    try (Region r = prot.reserve((2 * pages + 1) * page)) {
      o = InProcessC.run(InProcessC.PROT1_AT, pages, true, 0, r.base());
    }
    busy[0][rep] = o[0];
    busy[1][rep] = o[1];
  }

  /** prot1: every other page of a read-write run made read-only (each call splits); unprot: back. */
  private void protUnprot(double[][] out, int rep) {
    try (Region r = prot.reserve((2 * pages + 1) * page)) {
      long t0 = System.nanoTime();
      for (long i = 0; i < pages; i++) {
        long a = r.base() + (2 * i + 1) * page;
        prot.set(a, a + page, AccessSet.WRITE);
      }
      long t1 = System.nanoTime();
      for (long i = 0; i < pages; i++) {
        long a = r.base() + (2 * i + 1) * page;
        prot.set(a, a + page, AccessSet.EMPTY);
      }
      long t2 = System.nanoTime();
      out[0][rep] = (double) (t1 - t0) / pages;
      out[1][rep] = (double) (t2 - t1) / pages;
    }
  }

  /**
   * prot1 and unprot with libc's mprotect called directly from Java (no module): what the same
   * system call costs inside this JVM process.
   */
  private void rawProtUnprot(double[][] out, int rep) {
    try (Region r = prot.reserve((2 * pages + 1) * page)) {
      long t0 = System.nanoTime();
      for (long i = 0; i < pages; i++) {
        RawMprotect.mprotect(r.base() + (2 * i + 1) * page, page, RawMprotect.PROT_READ);
      }
      long t1 = System.nanoTime();
      for (long i = 0; i < pages; i++) {
        RawMprotect.mprotect(r.base() + (2 * i + 1) * page, page, RawMprotect.PROT_READ | RawMprotect.PROT_WRITE);
      }
      long t2 = System.nanoTime();
      out[0][rep] = (double) (t1 - t0) / pages;
      out[1][rep] = (double) (t2 - t1) / pages;
    }
  }

  /** prot1_merged: pages made read-only in address order, each joining the run before it. */
  private double prot1Merged() {
    try (Region r = prot.reserve((pages + 1) * page)) {
      long t0 = System.nanoTime();
      for (long i = 0; i < pages; i++) {
        long a = r.base() + i * page;
        prot.set(a, a + page, AccessSet.WRITE);
      }
      return (double) (System.nanoTime() - t0) / pages;
    }
  }

  /** protn_per_page: one ProtSet over n populated pages, alternating; per page. */
  private double protN(long n) {
    try (Region r = prot.reserve(n * page)) {
      ByteBuffer m = r.mutatorView();
      for (long i = 0; i < n; i++) {
        m.put((int) (i * page), (byte) 1);
      }
      int rounds = 16;
      long t0 = System.nanoTime();
      for (int k = 0; k < rounds; k++) {
        prot.set(r.base(), r.limit(), (k & 1) != 0 ? AccessSet.EMPTY : AccessSet.WRITE);
      }
      long t1 = System.nanoTime();
      r.protectAll(AccessSet.EMPTY);
      return (double) (t1 - t0) / (rounds * n);
    }
  }

  /**
   * same_mode: ProtSet of one page to the mode it already has, through the module or (raw) libc
   * directly: the module's fixed cost per call is the difference.
   */
  private double sameMode(long calls, boolean raw) {
    try (Region r = prot.reserve(3 * page)) {
      long b = r.base() + page;
      long t0 = System.nanoTime();
      for (long i = 0; i < calls; i++) {
        if (raw) {
          RawMprotect.mprotect(b, page, RawMprotect.PROT_READ | RawMprotect.PROT_WRITE);
        } else {
          prot.set(b, b + page, AccessSet.EMPTY);
        }
      }
      return (double) (System.nanoTime() - t0) / calls;
    }
  }

  /** map2: reserve a region (one memory, two views) and touch every page through both; per page. */
  private double map2() {
    long t0 = System.nanoTime();
    Region r = prot.reserve(pages * page);
    ByteBuffer a = r.alias();
    ByteBuffer m = r.mutatorView();
    for (long i = 0; i < pages; i++) {
      a.put((int) (i * page), (byte) 1);
      if (m.get((int) (i * page)) != 1) {
        throw new IllegalStateException("the alias view and the mutator's view differ at page " + i);
      }
    }
    long t1 = System.nanoTime();
    r.close();
    return (double) (t1 - t0) / pages;
  }

  /**
   * trap_unprot: write-protect a page (ProtSet), store into it, the handler opens it
   * (unprotect-and-record), the store retries; per round. The store is a JIT-compiled
   * ByteBuffer.putLong (the Unsafe.putLong intrinsic), or the module's accessor.
   */
  private double trapUnprot(boolean accessor) {
    try (Region r = prot.reserve(page)) {
      r.setPolicy(BarrierPolicy.UNPROTECT);
      ByteBuffer view = r.mutatorView();
      long base = r.base();
      long t0 = System.nanoTime();
      for (long i = 0; i < pages; i++) {
        prot.set(base, base + page, AccessSet.WRITE);
        if (accessor) {
          Accessors.putLong(base + 8, i);
        } else {
          view.putLong(8, i);
        }
      }
      return (double) (System.nanoTime() - t0) / pages;
    }
  }

  /**
   * handoff: the same round, but the fault is resolved by a Java FaultHandler on the barrier
   * thread (the mutator uses the accessor, so it parks in native state).
   */
  private double handoff() {
    try (Region r = prot.reserve(page)) {
      r.setHandoff(ctx -> prot.set(r.base(), r.limit(), AccessSet.EMPTY), HandoffFallback.FAIL_FAST);
      long base = r.base();
      long t0 = System.nanoTime();
      for (long i = 0; i < pages; i++) {
        prot.set(base, base + page, AccessSet.WRITE);
        Accessors.putLong(base + 8, i);
      }
      return (double) (System.nanoTime() - t0) / pages;
    }
  }

  /**
   * step_load / step_store: a JIT-compiled 8-byte load or store on a no-access page under
   * step-and-record; the handler emulates it and logs it, the page stays protected. The log is
   * drained outside the timed loop's hot path every 2,048 accesses (its capacity is 4,096).
   */
  private double step(boolean store) {
    try (Region r = prot.reserve(page)) {
      r.setPolicy(BarrierPolicy.STEP);
      r.protectAll(AccessSet.ALL);
      ByteBuffer view = r.mutatorView();
      long sum = 0;
      long elapsed = 0;
      for (long done = 0; done < pages; ) {
        long n = Math.min(2048, pages - done);
        long t0 = System.nanoTime();
        for (long i = 0; i < n; i++) {
          if (store) {
            view.putLong(16, i);
          } else {
            sum += view.getLong(16);
          }
        }
        elapsed += System.nanoTime() - t0;
        r.drainLog();
        done += n;
      }
      if (sum < 0) {
        throw new IllegalStateException("unreachable: " + sum);
      }
      return (double) elapsed / pages;
    }
  }

  private static final java.util.regex.Pattern ROW = java.util.regex.Pattern.compile(
      "\\{\"name\": \"([^\"]+)\", \"java_ns\": ([0-9.]+), \"java_min_ns\": ([0-9.]+), \"java_max_ns\":"
          + " ([0-9.]+), \"c_ns\": (null|[0-9.]+), \"ratio\": (?:null|[0-9.]+), \"c_inproc_ns\":"
          + " (null|[0-9.]+), \"ratio_inproc\": (?:null|[0-9.]+), \"backend\": \"(\\w+)\"\\}");

  /**
   * Runs the benchmark on {@code backend} ("jna" or "ffm") in a child JVM (a process has one
   * backend), with this JVM's class path; its progress goes to this process's stderr.
   */
  public static List<Row> runInChild(String backend, int repetitions, long pages)
      throws java.io.IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString());
    if (Runtime.version().feature() >= 22) {
      cmd.add("--enable-native-access=ALL-UNNAMED");
    }
    cmd.addAll(List.of("-D" + NativeBackend.PROPERTY + "=" + backend, "-cp", System.getProperty("java.class.path"),
        "org.mpsprot.cli.Main", "primitives", "--json", "--backend", backend,
        "--repetitions", String.valueOf(repetitions), "--pages", String.valueOf(pages)));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IllegalStateException("primitives on the " + backend + " backend failed (exit "
          + p.exitValue() + "): " + out);
    }
    List<Row> rows = new ArrayList<>();
    java.util.regex.Matcher m = ROW.matcher(out);
    while (m.find()) {
      rows.add(new Row(m.group(1), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)),
          Double.parseDouble(m.group(4)), m.group(5).equals("null") ? null : Double.valueOf(m.group(5)),
          m.group(6).equals("null") ? null : Double.valueOf(m.group(6)), m.group(7)));
    }
    if (rows.isEmpty()) {
      throw new IllegalStateException("primitives on the " + backend + " backend printed no rows: " + out);
    }
    return rows;
  }

  /**
   * The table: name, Java ns, C in this JVM ns, Java / that, standalone C ns, Java / that,
   * spread (Java min to max).
   */
  public static void printTable(List<Row> rows, long pageSize, PrintStream out) {
    out.printf("page size %d bytes; figures are ns per operation, median over repetitions%n", pageSize);
    String backend = null;
    for (Row r : rows) {
      if (!r.backend().equals(backend)) {
        backend = r.backend();
        out.printf("%nbackend %s%n", backend);
        out.printf("%-30s %10s %10s %8s %10s %8s   %s%n", "primitive", "Java ns", "C-in-JVM", "ratio",
            "C ns", "ratio", "Java spread (min..max)");
      }
      out.printf(Locale.ROOT, "%-30s %10.1f %10s %8s %10s %8s   %.1f..%.1f%n", r.name(), r.javaNs(),
          fmt(r.cInProcessNs(), "%.1f"), fmt(r.ratioInProcess(), "%.2f"),
          fmt(r.cNs(), "%.1f"), fmt(r.ratio(), "%.2f"), r.javaMin(), r.javaMax());
    }
  }

  private static String fmt(Double v, String f) {
    return v == null ? "-" : String.format(Locale.ROOT, f, v);
  }

  private static String num(Double v, String f) {
    return v == null ? "null" : String.format(Locale.ROOT, f, v);
  }

  /**
   * {"page_size": N, "results": [{"name": ..., "java_ns": X, "java_min_ns": .., "java_max_ns": ..,
   * "c_ns": standalone C or null, "ratio": X / c_ns or null, "c_inproc_ns": C in this JVM or null,
   * "ratio_inproc": X / c_inproc_ns or null, "backend": "jna" or "ffm"}, ...]}
   */
  public static String json(List<Row> rows, long pageSize) {
    StringBuilder sb = new StringBuilder("{\"page_size\": ").append(pageSize).append(", \"results\": [");
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      sb.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT,
          "{\"name\": \"%s\", \"java_ns\": %.1f, \"java_min_ns\": %.1f, \"java_max_ns\": %.1f, \"c_ns\": %s,"
              + " \"ratio\": %s, \"c_inproc_ns\": %s, \"ratio_inproc\": %s, \"backend\": \"%s\"}",
          r.name(), r.javaNs(), r.javaMin(), r.javaMax(), num(r.cNs(), "%.1f"), num(r.ratio(), "%.3f"),
          num(r.cInProcessNs(), "%.1f"), num(r.ratioInProcess(), "%.3f"), r.backend()));
    }
    return sb.append("]}").toString();
  }
}
