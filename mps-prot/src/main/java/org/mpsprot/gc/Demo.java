package org.mpsprot.gc;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.mpsprot.Prot;
import org.mpsprot.barrier.Availability;
import org.mpsprot.barrier.BarrierCosts;
import org.mpsprot.barrier.BrokenStrategy;
import org.mpsprot.barrier.Strategies;
import org.mpsprot.barrier.StrategyUnavailableException;
import org.mpsprot.barrier.WriteBarrierStrategy;
import org.mpsprot.os.ProtOs;

/**
 * {@code java -jar mps-prot.jar demo}: the reference collector under every write-barrier strategy
 * and under the read barrier, on the built-in {@link Workload}, verified against the shadow model
 * after every collection (docs/barriers.md .demo).
 *
 * <p>Prints progress lines while it runs, then a table: strategy, collections, barrier hits, pages
 * scanned, mutator time, collector time, verification time, verified. Strategies that are
 * unavailable here appear in the table with their reason. With {@code --json}, one JSON object
 * on standard output instead (progress goes to standard error). Exit status: 0 when every run
 * verified, 1 when any verification (or workload check) failed, 2 for bad options.
 * With {@code --costs}, it measures each strategy's cost per barrier hit and per harvested page
 * instead ({@link BarrierCosts}), and with {@code --svg FILE} also draws them ({@link Figure}).
 */
public final class Demo {
  /** One strategy's outcome. {@code error} is null when the run verified. */
  record Result(String strategy, boolean available, String reason, HeapStats stats, long wallNanos,
      long stores, String error) {
    long mutatorNanos() {
      if (stats == null) {
        return 0;
      }
      return wallNanos - stats.collector().collectorNanos() - stats.verifyNanos();
    }
  }

  private Demo() {}

  /** Runs the demo with {@code args}; returns the exit status. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    int depth = 15;
    long seed = 42;
    boolean json = false;
    boolean verify = true;
    boolean costs = false;
    boolean broken = false;
    Path svg = null;
    int costPages = 4096;
    List<String> names = new ArrayList<>();
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--depth" -> depth = Integer.parseInt(value(args, ++i, "--depth"));
          case "--seed" -> seed = Long.parseLong(value(args, ++i, "--seed"));
          case "--strategy" -> names.addAll(List.of(value(args, ++i, "--strategy").split(",")));
          case "--json" -> json = true;
          case "--no-verify" -> verify = false;
          case "--broken" -> broken = true;
          case "--costs" -> costs = true;
          case "--svg" -> svg = Path.of(value(args, ++i, "--svg"));
          case "--cost-pages" -> costPages = Integer.parseInt(value(args, ++i, "--cost-pages"));
          case "--help", "-h" -> {
            usage(out);
            return 0;
          }
          default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'");
        }
      }
      if (svg != null && !costs) {
        throw new IllegalArgumentException("--svg draws the --costs figures: give --costs too");
      }
      List<String> chosen = expand(names);
      if (costs) {
        return costs(chosen, costPages, svg, json, out, err);
      }
      Workload.Params params = Workload.Params.of(depth, seed);
      HeapConfig config = spacesFor(params, verify);
      PrintStream progress = json ? err : out;
      progress.printf(Locale.ROOT, "mps-prot demo: binary trees of depth %d (about %,d nodes) plus old-to-young stores,"
          + " seed %d, %s%n", depth, params.nodes(), seed, verify ? "verified after every collection" : "NOT verified");
      progress.printf(Locale.ROOT, "spaces: nursery %d KiB, old generation 2 x %d KiB, read-barrier semispaces 2 x %d KiB%n",
          config.nurseryBytes() >> 10, config.oldBytes() >> 10, config.semispaceBytes() >> 10);
      warmUp(chosen);
      List<Result> results = new ArrayList<>();
      for (String name : chosen) {
        results.add(runOne(name, broken, params, config, progress));
      }
      if (json) {
        out.println(json(results, params, verify));
      } else {
        table(results, verify, out);
      }
      return results.stream().anyMatch(r -> r.error() != null) ? 1 : 0;
    } catch (IllegalArgumentException e) {
      err.println("mps-prot demo: " + e.getMessage());
      usage(err);
      return 2;
    }
  }

  private static void usage(PrintStream out) {
    out.println("usage: java -jar mps-prot.jar demo [options]");
    out.println("  --depth N        workload size: depth of the binary trees, 4..24 (default 15; +1 doubles the work)");
    out.println("  --strategy LIST  comma-separated: fault, uffd, soft-dirty, cards, cards-page, read-barrier, all");
    out.println("                   (default all: every write-barrier strategy, then the read barrier)");
    out.println("  --seed S         the workload's random seed (default 42)");
    out.println("  --json           one JSON object on stdout instead of the table (progress on stderr)");
    out.println("  --no-verify      keep no shadow model and verify nothing (faster)");
    out.println("  --broken         break each write barrier on purpose (drop one dirty page per harvest):");
    out.println("                   verification must catch it, and the demo exits with status 1");
    out.println("  --costs          measure each strategy's cost per barrier hit and per harvested page");
    out.println("  --cost-pages N   pages per region for --costs (default 4096)");
    out.println("  --svg FILE       with --costs: draw the figure (docs/barriers.svg) from the measured numbers");
    out.println("exit status: 0 all verified, 1 a verification failed, 2 bad options");
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      throw new IllegalArgumentException(option + " needs a value");
    }
    return args[i];
  }

  /** The strategy names to run, "all" expanded, each checked. */
  private static List<String> expand(List<String> names) {
    Set<String> out = new LinkedHashSet<>();
    if (names.isEmpty()) {
      names = List.of("all");
    }
    for (String n : names) {
      String name = n.trim().toLowerCase(Locale.ROOT);
      if (name.equals("all")) {
        Strategies.all().forEach(s -> out.add(s.name()));
        out.add("read-barrier");
      } else if (name.equals("read-barrier")) {
        out.add(name);
      } else {
        Strategies.byName(name); // refuses an unknown name, listing the known ones
        out.add(name);
      }
    }
    return List.copyOf(out);
  }

  /**
   * Spaces sized for the workload: a nursery that fills about 64 times (4 to 512 pages: 16 KiB
   * to 2 MiB at 4 KiB pages), old semispaces and read-barrier semispaces with room for several
   * times the live data. The live data are the long-lived tree and what its extra slots hold:
   * measured at 2.7 to 3 times the tree's nodes on average (depths 10 and 15); four times is
   * the bound used here. A read-barrier semispace must stay over twice the live data
   * (docs/barriers.md .limits) and is at least 16 pages, since its copy reserve and allocation
   * area are whole pages: at 64 KiB pages a small workload's 256 KiB would be only 4.
   */
  static HeapConfig spacesFor(Workload.Params params, boolean verify) {
    return spacesFor(params, verify, Prot.setup().granularity());
  }

  /** As {@link #spacesFor(Workload.Params, boolean)} for a page of {@code page} bytes. */
  static HeapConfig spacesFor(Workload.Params params, boolean verify, long page) {
    long node = 5 * ObjectLayout.WORD;
    long live = (1L << (params.maxDepth() + 1)) * node * 4;
    long nursery = Math.min(512 * page, Math.max(4 * page, params.nodes() * node / 64));
    long old = Math.max(32L << 20, 4 * live + 2 * nursery);
    long semispace = Math.max(Math.max(4 * nursery, 3 * live), 16 * page);
    return new HeapConfig(nursery, old, semispace, verify);
  }

  /**
   * A short verified run under every barrier to be measured, so that the JIT has seen all of
   * them before the first timed run (otherwise the first strategy pays for compilation and the
   * next for deoptimisation of call sites that were monomorphic).
   */
  private static void warmUp(List<String> names) {
    Workload.Params small = Workload.Params.of(11, 1);
    for (String name : names) {
      boolean rb = name.equals("read-barrier");
      if (!rb && !Strategies.byName(name).availability().available()) {
        continue;
      }
      try (Heap heap = rb ? Heap.readBarrier(spacesFor(small, true))
          : Heap.generational(Strategies.byName(name), spacesFor(small, true))) {
        new Workload(heap, small).run(line -> { });
      } catch (RuntimeException e) {
        // the timed run will meet and report it
      }
    }
  }

  private static Result runOne(String name, boolean broken, Workload.Params params, HeapConfig config,
      PrintStream progress) {
    String reason;
    Heap heap;
    if (name.equals("read-barrier")) {
      reason = "incremental copying (Appel-Ellis-Li); mutator via the native accessors";
      heap = Heap.readBarrier(config);
    } else {
      WriteBarrierStrategy s = broken ? new BrokenStrategy(Strategies.byName(name)) : Strategies.byName(name);
      Availability a = s.availability();
      if (!a.available()) {
        progress.printf("[%s] unavailable: %s%n", name, a.reason());
        return new Result(name, false, a.reason(), null, 0, 0, null);
      }
      reason = broken ? s.description() : a.reason();
      try {
        heap = Heap.generational(s, config);
      } catch (StrategyUnavailableException e) {
        progress.printf("[%s] unavailable: %s%n", name, e.availability().reason());
        return new Result(name, false, e.availability().reason(), null, 0, 0, null);
      }
    }
    progress.printf("[%s] running: %s%n", name, reason);
    Workload w = new Workload(heap, params);
    long t0 = System.nanoTime();
    String error = null;
    try {
      w.run(line -> progress.printf(Locale.ROOT, "[%s] %s; %d collections, %.1f s%n", name, line,
          heap.stats().collector().collections(), (System.nanoTime() - t0) / 1e9));
    } catch (HeapVerificationException | IllegalStateException | HeapExhaustedException e) {
      error = e.getClass().getSimpleName() + ": " + e.getMessage();
      progress.printf("[%s] FAILED: %s%n", name, error);
    }
    long wall = System.nanoTime() - t0;
    HeapStats stats = heap.stats();
    heap.close();
    return new Result(name, true, reason, stats, wall, w.stores(), error);
  }

  static void table(List<Result> results, boolean verify, PrintStream out) {
    out.println();
    out.printf("%-13s %11s %12s %13s %11s %11s %12s %10s  %s%n", "strategy", "collections", "barrier hits",
        "pages scanned", "KiB scanned", "mutator ms", "collector ms", "verify ms", "verified");
    for (Result r : results) {
      if (!r.available()) {
        out.printf("%-13s %s%n", r.strategy(), "unavailable: " + r.reason());
        continue;
      }
      CollectorStats c = r.stats().collector();
      String verified = r.error() != null ? "FAILED" : !verify ? "off"
          : String.format(Locale.ROOT, "yes (%d checks, %,d objects)", r.stats().verifications(), r.stats().objectsVerified());
      out.printf(Locale.ROOT, "%-13s %11d %12d %13d %11d %11.0f %12.0f %10.0f  %s%n", r.strategy(), c.collections(),
          c.barrierHits(), c.pagesScanned(), c.bytesScanned() / 1024, r.mutatorNanos() / 1e6,
          c.collectorNanos() / 1e6, r.stats().verifyNanos() / 1e6, verified);
    }
    out.println();
    out.println("barrier hits: fault/uffd/soft-dirty = written pages harvested (one trap or kernel fault each);"
        + " cards = reference stores into the old generation; read-barrier = faults handed to the collector.");
    out.println("read-barrier: collections = completed cycles; pages scanned = to-space pages scanned by the"
        + " fault handler and the background thread (its time is not in collector ms).");
    for (Result r : results) {
      if (r.error() != null) {
        out.println(r.strategy() + " FAILED: " + r.error());
      }
    }
  }

  static String json(List<Result> results, Workload.Params params, boolean verify) {
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "{\"workload\": {\"depth\": %d, \"seed\": %d, \"nodes\": %d}, \"verify\": %b,"
        + " \"page_size\": %d, \"results\": [", params.maxDepth(), params.seed(), params.nodes(), verify,
        Prot.setup().granularity()));
    for (int i = 0; i < results.size(); i++) {
      Result r = results.get(i);
      b.append(i == 0 ? "" : ", ").append("{\"strategy\": ").append(quote(r.strategy()))
          .append(", \"available\": ").append(r.available()).append(", \"reason\": ").append(quote(r.reason()));
      if (r.available()) {
        CollectorStats c = r.stats().collector();
        b.append(String.format(Locale.ROOT, ", \"collections\": %d, \"minor\": %d, \"major\": %d, \"barrier_hits\": %d,"
                + " \"pages_scanned\": %d, \"bytes_scanned\": %d, \"mutator_ms\": %.1f, \"collector_ms\": %.1f,"
                + " \"background_ms\": %.1f, \"verify_ms\": %.1f, \"verifications\": %d, \"objects_verified\": %d,"
                + " \"old_to_young_stores\": %d, \"verified\": %b, \"error\": %s",
            c.collections(), c.minor(), c.major(), c.barrierHits(), c.pagesScanned(), c.bytesScanned(),
            r.mutatorNanos() / 1e6, c.collectorNanos() / 1e6, c.backgroundNanos() / 1e6, r.stats().verifyNanos() / 1e6,
            r.stats().verifications(), r.stats().objectsVerified(), r.stores(), verify && r.error() == null,
            r.error() == null ? "null" : quote(r.error())));
      }
      b.append('}');
    }
    return b.append("]}").toString();
  }

  static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      switch (ch) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\t' -> b.append("\\t");
        default -> {
          if (ch < 0x20) {
            b.append(String.format("\\u%04x", (int) ch));
          } else {
            b.append(ch);
          }
        }
      }
    }
    return b.append('"').toString();
  }

  private static int costs(List<String> names, int pages, Path svg, boolean json, PrintStream out, PrintStream err) {
    List<WriteBarrierStrategy> strategies = new ArrayList<>();
    for (String n : names) {
      if (!n.equals("read-barrier")) {
        strategies.add(Strategies.byName(n));
      }
    }
    PrintStream progress = json ? err : out;
    List<BarrierCosts.Row> rows = new BarrierCosts(pages, 9).measure(strategies, progress);
    String machine = machine();
    if (json) {
      StringBuilder b = new StringBuilder("{\"machine\": " + quote(machine) + ", \"pages\": " + pages + ", \"results\": [");
      for (int i = 0; i < rows.size(); i++) {
        BarrierCosts.Row r = rows.get(i);
        b.append(i == 0 ? "" : ", ").append("{\"strategy\": ").append(quote(r.strategy())).append(", \"available\": ")
            .append(r.availability().available()).append(", \"reason\": ").append(quote(r.availability().reason()));
        if (r.availability().available()) {
          b.append(String.format(Locale.ROOT, ", \"hit_ns\": %.1f, \"hit_contiguous_ns\": %.1f, \"store_ns\": %.2f,"
              + " \"harvest_scattered_ns_per_page\": %.1f, \"harvest_contiguous_ns_per_page\": %.1f,"
              + " \"harvest_clean_ns_per_page\": %.2f", r.hitNs(), r.hitContiguousNs(), r.storeNs(),
              r.harvestScatteredNs(), r.harvestContiguousNs(), r.harvestCleanNs()));
        }
        b.append('}');
      }
      out.println(b.append("]}"));
    } else {
      out.println();
      out.println("write-barrier costs on " + machine + " (ns; medians of 9 rounds, " + pages + " pages per region;"
          + " harvest columns per page)");
      out.printf("%-11s %9s %12s %9s %14s %15s %13s%n", "strategy", "hit ns", "hit contig.", "store ns",
          "harvest scat.", "harvest contig.", "harvest clean");
      for (BarrierCosts.Row r : rows) {
        if (!r.availability().available()) {
          out.printf("%-11s unavailable: %s%n", r.strategy(), r.availability().reason());
        } else {
          out.printf(Locale.ROOT, "%-11s %9.1f %12.1f %9.2f %14.1f %15.1f %13.2f%n", r.strategy(), r.hitNs(),
              r.hitContiguousNs(), r.storeNs(), r.harvestScatteredNs(), r.harvestContiguousNs(), r.harvestCleanNs());
        }
      }
    }
    if (svg != null) {
      try {
        Figure.write(rows, machine, svg);
        progress.println("wrote " + svg);
      } catch (java.io.IOException e) {
        err.println("mps-prot demo: cannot write " + svg + ": " + e.getMessage());
        return 1;
      }
    }
    return 0;
  }

  private static String machine() {
    ProtOs os = ProtOs.current();
    return String.format(Locale.ROOT, "%s, %s, %d cores, %d-byte pages, JDK %s", os.kernel(), os.platform(),
        Runtime.getRuntime().availableProcessors(), Prot.setup().granularity(), System.getProperty("java.runtime.version"));
  }
}
