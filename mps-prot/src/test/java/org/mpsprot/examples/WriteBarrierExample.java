package org.mpsprot.examples;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.barrier.Availability;
import org.mpsprot.barrier.Strategies;
import org.mpsprot.barrier.Tracker;
import org.mpsprot.barrier.WriteBarrierStrategy;

/**
 * A write barrier with each strategy (docs/examples.md, docs/barriers.md): the mutator writes a
 * few pages of a region, the collector asks the region's {@link Tracker} which pages were
 * written since it last asked, and asks again to see that the first harvest re-armed them.
 *
 * <p>The same code runs under every strategy; only the name passed to
 * {@link Strategies#byName} changes. A strategy this machine does not offer (soft-dirty where
 * the kernel does not keep the bit; userfaultfd without permission or before Linux 6.7) is
 * skipped with the reason its {@link Availability} gives.
 *
 * <p>Run: {@code java -cp mps-prot/target/mps-prot.jar:mps-prot/target/test-classes
 * org.mpsprot.examples.WriteBarrierExample [fault|uffd|soft-dirty|cards ...]}
 */
public final class WriteBarrierExample {
  /** The pages the mutator writes, out of {@link #PAGES}. */
  static final int[] WRITTEN = {1, 5, 6, 12};

  static final int PAGES = 16;

  private WriteBarrierExample() {}

  /**
   * What one strategy did.
   *
   * @param strategy the strategy's name
   * @param skipped why the strategy was skipped, or null if it ran
   * @param granule the tracker's granule in bytes
   * @param firstHarvest the pages the first harvest reported
   * @param secondHarvest the pages the second harvest reported (nothing was written in between)
   * @param dataIntact whether the collector read every value the mutator wrote, through the alias
   */
  public record Outcome(
      String strategy, String skipped, long granule, BitSet firstHarvest, BitSet secondHarvest, boolean dataIntact) {}

  public static void main(String[] args) {
    List<String> names = args.length > 0 ? List.of(args) : List.of("fault", "uffd", "soft-dirty", "cards");
    run(names, System.out);
  }

  /** Runs the example under each named strategy, printing one line per strategy to {@code out}. */
  public static List<Outcome> run(List<String> strategies, PrintStream out) {
    Prot prot = Prot.setup();
    List<Outcome> outcomes = new ArrayList<>();
    for (String name : strategies) {
      WriteBarrierStrategy strategy = Strategies.byName(name);
      Availability availability = strategy.availability();
      if (!availability.available()) {
        out.println(name + ": SKIPPED (" + availability.reason() + ")");
        outcomes.add(new Outcome(name, availability.reason(), 0, new BitSet(), new BitSet(), false));
        continue;
      }
      Outcome o = underOneStrategy(prot, strategy);
      out.println(name + ": wrote pages " + pages(WRITTEN) + ", first harvest " + o.firstHarvest()
          + " (granules of " + o.granule() + " bytes), second harvest " + o.secondHarvest()
          + ", data " + (o.dataIntact() ? "intact" : "CHANGED"));
      outcomes.add(o);
    }
    return outcomes;
  }

  private static Outcome underOneStrategy(Prot prot, WriteBarrierStrategy strategy) {
    long page = prot.granularity();
    try (Region heap = prot.reserve(PAGES * page)) {
      BitSet first;
      BitSet second;
      long granule;
      // Close the tracker before its region (Tracker.close).
      try (Tracker tracker = strategy.attach(heap)) {
        granule = tracker.granule();
        ByteBuffer mutator = heap.mutatorView();
        for (int p : WRITTEN) {
          long offset = p * page + 64;
          mutator.putLong((int) offset, 1000L + p);  // a plain store: no call for the hardware
          tracker.onStore(heap.base() + offset);     // the store path: card marking needs it
        }
        first = toPages(tracker.harvest(), granule, page);
        second = toPages(tracker.harvest(), granule, page);
      }
      boolean intact = true;
      for (int p : WRITTEN) {
        intact &= heap.alias().getLong((int) (p * page + 64)) == 1000L + p;
      }
      return new Outcome(strategy.name(), null, granule, first, second, intact);
    }
  }

  /** Granule indexes (cards may be smaller than a page) to page indexes. */
  private static BitSet toPages(BitSet granules, long granule, long page) {
    BitSet pages = new BitSet();
    granules.stream().forEach(g -> pages.set((int) (g * granule / page)));
    return pages;
  }

  static BitSet pages(int... pages) {
    BitSet set = new BitSet();
    for (int p : pages) {
      set.set(p);
    }
    return set;
  }
}
