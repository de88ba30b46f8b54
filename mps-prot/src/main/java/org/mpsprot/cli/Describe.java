package org.mpsprot.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.FaultCounters;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.RegionSnapshot;

/**
 * {@code describe [--pages N] [--svg DIR] [--ansi]}: one harvest cycle of a protection-fault
 * write barrier over a small demo heap, pictured after each step with {@link Region#describe()}
 * (docs/barriers.md .picture). The heap is one region of N pages (default 32) with the
 * {@link BarrierPolicy#UNPROTECT} policy: its first three quarters are the old generation under
 * the write barrier (read-only), the last quarter to-space not yet scanned (no access, a read
 * barrier). The steps:
 *
 * <ol>
 *   <li>protect: the old generation read-only, to-space no access;
 *   <li>fault: the mutator writes one old page; the write faults, the handler opens the page and
 *       sets its dirty bit;
 *   <li>writes: the mutator writes two more old pages and the first one again (no fault: it is
 *       open), and reads two to-space pages (read faults: opened for reading, touched);
 *   <li>harvest: {@code harvest(WRITE)} reports the dirty pages, protects them again and clears
 *       their bits, atomically with respect to faulting threads;
 *   <li>re-fault: the mutator writes a harvested page again: it faults again and is dirty again,
 *       so no write is missed.
 * </ol>
 *
 * Each step prints its caption, the fault counters it moved and {@link RegionSnapshot#toText};
 * with {@code --svg DIR} it also writes {@code DIR/harvest-K-STEP.svg}. The page indexes are
 * fractions of N, so the cycle reads the same at any size (a large N shows the summarised
 * picture).
 */
final class Describe {
  private Describe() {}

  /** The steps' file names, in order. */
  static final List<String> STEPS = List.of("protect", "fault", "writes", "harvest", "refault");

  static int run(String[] args, PrintStream out, PrintStream err) {
    long pages = 32;
    Path svg = null;
    boolean ansi = false;
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--pages" -> pages = Long.parseLong(value(args, ++i, "--pages"));
          case "--svg" -> svg = Path.of(value(args, ++i, "--svg"));
          case "--ansi" -> ansi = true;
          default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'");
        }
      }
      if (pages < 8 || pages > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("--pages " + pages + ": use 8 to " + Integer.MAX_VALUE);
      }
    } catch (IllegalArgumentException e) {
      err.println("mps-prot describe: " + e.getMessage());
      err.println("usage: java -jar mps-prot.jar describe [--pages N] [--svg DIR] [--ansi]");
      return 2;
    }
    try {
      if (svg != null) {
        Files.createDirectories(svg);
      }
      List<Step> steps = cycle(pages);
      for (int k = 0; k < steps.size(); k++) {
        Step s = steps.get(k);
        out.printf(Locale.ROOT, "step %d, %s: %s%n", k + 1, STEPS.get(k), s.caption());
        out.println("  faults: " + s.faults());
        out.print(s.snapshot().toText(ansi));
        if (svg != null) {
          Path file = svg.resolve(String.format(Locale.ROOT, "harvest-%d-%s.svg", k + 1, STEPS.get(k)));
          Files.writeString(file, s.snapshot().toSvg((k + 1) + ". " + STEPS.get(k) + ": " + s.caption()),
              StandardCharsets.UTF_8);
          out.println("  wrote " + file);
        }
        out.println();
      }
      return 0;
    } catch (IOException | RuntimeException e) {
      err.println("mps-prot describe failed: " + e);
      return 1;
    }
  }

  /** One step of the cycle: what was done, what the fault counters did, the picture after it. */
  record Step(String caption, String faults, RegionSnapshot snapshot) {}

  /** Runs the cycle on a fresh region of {@code pages} pages and closes it. */
  static List<Step> cycle(long pages) {
    Prot prot = Prot.setup();
    long page = prot.granularity();
    long old = pages * 3 / 4;
    long a = old / 12;
    long b = a + 1;
    long c = old * 13 / 24;
    long r1 = old + (pages - old) / 4;
    long r2 = old + (pages - old) * 3 / 4;
    List<Step> steps = new ArrayList<>();
    try (Region heap = prot.reserve(pages * page)) {
      FaultCounters before = prot.counters();
      heap.setPolicy(BarrierPolicy.UNPROTECT);
      heap.protect(0, old * page, AccessSet.WRITE);
      heap.protect(old * page, (pages - old) * page, AccessSet.ALL);
      before = add(steps, prot, heap, before, String.format(Locale.ROOT,
          "pages 0-%d read-only (write barrier), %d-%d no access (read barrier), policy UNPROTECT",
          old - 1, old, pages - 1));

      write(heap, a, page);
      before = add(steps, prot, heap, before, String.format(Locale.ROOT,
          "the mutator writes page %d: the write faults, the handler opens it and sets its dirty bit", a));

      write(heap, b, page);
      write(heap, c, page);
      write(heap, a, page);
      read(heap, r1, page);
      read(heap, r2, page);
      before = add(steps, prot, heap, before, String.format(Locale.ROOT,
          "the mutator writes pages %d, %d and %d again (open: no fault), reads %d and %d (opened"
              + " for reading, touched)", b, c, a, r1, r2));

      BitSet harvested = heap.harvest(AccessSet.WRITE);
      before = add(steps, prot, heap, before, String.format(Locale.ROOT,
          "harvest(WRITE) reports pages %s, protects them again and clears their dirty bits", list(harvested)));

      write(heap, b, page);
      add(steps, prot, heap, before, String.format(Locale.ROOT,
          "the mutator writes page %d again: re-protected, it faults again and is dirty again", b));
    }
    return steps;
  }

  private static FaultCounters add(List<Step> steps, Prot prot, Region heap, FaultCounters before, String caption) {
    RegionSnapshot snapshot = heap.describe();
    FaultCounters now = prot.counters();
    FaultCounters d = now.minus(before);
    steps.add(new Step(caption, String.format(Locale.ROOT, "%d write, %d read; %d opened by the handler",
        d.writeFaults(), d.readFaults(), d.unprotected()), snapshot));
    return now;
  }

  private static String list(BitSet pages) {
    StringBuilder b = new StringBuilder();
    pages.stream().forEach(p -> b.append(b.length() == 0 ? "" : ", ").append(p));
    return b.toString();
  }

  /**
   * A store by the mutator: through its view, so the protection applies (a plain Java store; the
   * module's accessor where the region is too large for a ByteBuffer).
   */
  private static void write(Region heap, long p, long page) {
    long offset = p * page + 8;
    if (heap.size() <= Integer.MAX_VALUE) {
      heap.mutatorView().putLong((int) offset, 0x5eed0000L + p);
    } else {
      org.mpsprot.Accessors.putLong(heap.base() + offset, 0x5eed0000L + p);
    }
  }

  private static void read(Region heap, long p, long page) {
    long offset = p * page;
    long v = heap.size() <= Integer.MAX_VALUE ? heap.mutatorView().getLong((int) offset)
        : org.mpsprot.Accessors.getLong(heap.base() + offset);
    if (v != 0) {
      throw new IllegalStateException("page " + p + " of a fresh region read " + v + ", not 0");
    }
  }

  private static String value(String[] args, int i, String option) {
    if (i >= args.length) {
      throw new IllegalArgumentException(option + " needs a value");
    }
    return args[i];
  }
}
