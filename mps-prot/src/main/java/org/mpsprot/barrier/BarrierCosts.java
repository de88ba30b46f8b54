package org.mpsprot.barrier;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * Measures what each write-barrier strategy costs on this machine (docs/barriers.md .cost).
 * Run with {@code java -jar mps-prot.jar demo --costs}.
 *
 * <p>For each available strategy, on a fresh region of {@code pages} pages, after warm-up
 * rounds, each repetition times, through the mutator's view (JIT-compiled stores):
 * <ul>
 *   <li><b>hit, scattered</b>: one store to every other page of the armed region, with the store
 *       path, minus the same stores again (pages already written); per page. For the hardware
 *       strategies this is the first write to a write-protected page whose neighbours stay
 *       protected (for protection faults the mapping splits).
 *   <li><b>hit, contiguous</b>: the same over every page in order (for protection faults the
 *       opened pages merge into one mapping).
 *   <li><b>store</b>: the store path's cost per store on pages already written: a loop of stores
 *       over 64 hot addresses with {@code onStore}, minus the loop without it. Zero for the
 *       hardware strategies (within noise); card marking pays it on every store, so its hit
 *       cost <em>is</em> this figure.
 *   <li><b>harvest</b>: per reported page, after the scattered writes and after the contiguous
 *       writes; and with nothing written, per page of the region (the cost of asking).
 * </ul>
 * Medians over the repetitions. Not thread-safe; one measurement at a time.
 */
public final class BarrierCosts {
  /**
   * One strategy's figures in nanoseconds (NaN when unavailable).
   *
   * @param hitNs a barrier hit: the scattered first write for the hardware strategies, one store
   *     for card marking
   * @param hitContiguousNs the first write when pages are written in order (hardware strategies)
   * @param storeNs the store path's cost per store on an already-written page
   * @param harvestScatteredNs harvest, per reported page, every other page written
   * @param harvestContiguousNs harvest, per reported page, every page written
   * @param harvestCleanNs harvest with nothing written, per page of the region
   */
  public record Row(String strategy, Availability availability, double hitNs, double hitContiguousNs, double storeNs,
      double harvestScatteredNs, double harvestContiguousNs, double harvestCleanNs) {}

  private static final int HOT = 64;
  private static final int HOT_STORES = 1 << 20;

  private final int pages;
  private final int repetitions;
  private long sink;

  /** {@code pages} >= 16 pages per region, {@code repetitions} >= 1 timed rounds. */
  public BarrierCosts(int pages, int repetitions) {
    if (pages < 16 || repetitions < 1) {
      throw new IllegalArgumentException("pages " + pages + " (>= 16) and repetitions " + repetitions + " (>= 1)");
    }
    this.pages = pages;
    this.repetitions = repetitions;
  }

  /** Measures every strategy in {@code strategies}; unavailable ones get a row of NaN. */
  public List<Row> measure(List<WriteBarrierStrategy> strategies, PrintStream progress) {
    List<Row> rows = new ArrayList<>();
    for (WriteBarrierStrategy s : strategies) {
      Availability a = s.availability();
      if (!a.available()) {
        progress.println("costs: " + s.name() + " unavailable: " + a.reason());
        double nan = Double.NaN;
        rows.add(new Row(s.name(), a, nan, nan, nan, nan, nan, nan));
        continue;
      }
      Row r = measure(s, a);
      progress.printf(Locale.ROOT, "costs: %s: hit %.1f ns (contiguous %.1f), store %.2f ns, harvest %.1f ns/page"
          + " scattered, %.1f contiguous, %.2f clean%n", s.name(), r.hitNs(), r.hitContiguousNs(), r.storeNs(),
          r.harvestScatteredNs(), r.harvestContiguousNs(), r.harvestCleanNs());
      rows.add(r);
    }
    return rows;
  }

  private Row measure(WriteBarrierStrategy s, Availability a) {
    Prot prot = Prot.setup();
    int page = (int) prot.granularity();
    double[][] v = new double[6][repetitions];
    try (Region r = prot.reserve((long) pages * page); Tracker t = s.attach(r)) {
      ByteBuffer view = r.mutatorView();
      int warmups = 3;
      for (int round = -warmups; round < repetitions; round++) {
        t.harvest();
        long t0 = System.nanoTime();
        writeWithBarrier(view, t, r.base(), page, 2);
        long t1 = System.nanoTime();
        writePlain(view, page, 2);
        long t2 = System.nanoTime();
        BitSet got = t.harvest();
        long t3 = System.nanoTime();
        int half = pages / 2;
        if (got.cardinality() != half) {
          throw new IllegalStateException(s.name() + ": the harvest reported " + got.cardinality() + " granules for "
              + half + " pages written");
        }
        writeWithBarrier(view, t, r.base(), page, 1);
        long t4 = System.nanoTime();
        writePlain(view, page, 1);
        long t5 = System.nanoTime();
        t.harvest();
        long t6 = System.nanoTime();
        t.harvest();
        long t7 = System.nanoTime();
        long h0 = System.nanoTime();
        hotWithBarrier(view, t, r.base());
        long h1 = System.nanoTime();
        hotPlain(view);
        long h2 = System.nanoTime();
        if (round >= 0) {
          v[0][round] = (double) ((t1 - t0) - (t2 - t1)) / half;
          v[1][round] = (double) ((t4 - t3) - (t5 - t4)) / pages;
          v[2][round] = (double) ((h1 - h0) - (h2 - h1)) / HOT_STORES;
          v[3][round] = (double) (t3 - t2) / half;
          v[4][round] = (double) (t6 - t5) / pages;
          v[5][round] = (double) (t7 - t6) / pages;
        }
      }
      t.harvest();
    }
    double store = median(v[2]);
    double hit = s.hitsEveryStore() ? store : median(v[0]);
    double contiguous = s.hitsEveryStore() ? store : median(v[1]);
    return new Row(s.name(), a, hit, contiguous, store, median(v[3]), median(v[4]), median(v[5]));
  }

  /** One store per {@code stride}-th page, each followed by the store path. */
  private void writeWithBarrier(ByteBuffer view, Tracker t, long base, int page, int stride) {
    for (int p = 0; p < pages; p += stride) {
      int at = p * page + 8;
      view.putLong(at, p);
      t.onStore(base + at);
    }
  }

  /** The same stores without the store path. */
  private void writePlain(ByteBuffer view, int page, int stride) {
    for (int p = 0; p < pages; p += stride) {
      view.putLong(p * page + 8, p + 1);
    }
  }

  /** {@link #HOT_STORES} stores over {@link #HOT} words of the first page, with the store path. */
  private void hotWithBarrier(ByteBuffer view, Tracker t, long base) {
    for (int i = 0; i < HOT_STORES; i++) {
      int at = (i & (HOT - 1)) * 8;
      view.putLong(at, i);
      t.onStore(base + at);
    }
    sink += view.getLong(0);
  }

  private void hotPlain(ByteBuffer view) {
    for (int i = 0; i < HOT_STORES; i++) {
      view.putLong((i & (HOT - 1)) * 8, i);
    }
    sink += view.getLong(0);
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }
}
