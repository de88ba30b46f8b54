package org.mpsprot.examples;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.mpsprot.AccessSet;
import org.mpsprot.Accessors;
import org.mpsprot.FaultCounters;
import org.mpsprot.HandoffFallback;
import org.mpsprot.MutatorFaultContext;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * A read barrier resolved by a Java collector with {@code HANDOFF} (docs/examples.md;
 * docs/design/fault.md .policy.handoff, .rule.native): the to-space of a copying collector is
 * read-protected until the collector has scanned it; the mutator's first touch of an unscanned
 * page parks the mutator, the region's {@link org.mpsprot.FaultHandler} scans that page on the
 * module's barrier thread (through the alias view) and opens it, and the mutator resumes and
 * sees only scanned values. Pages the mutator never touches stay protected until the collector
 * gets to them.
 *
 * <p>Here "scanning" a slot turns a from-space reference (a value below {@link #TO_SPACE}) into
 * its to-space copy ({@code TO_SPACE + value}); a real collector would copy the object the slot
 * refers to and store its new address (docs/barriers.md .heap.readbarrier).
 *
 * <p>The rule the example keeps: under HANDOFF the mutator reads and writes the region only
 * through {@link Accessors} (or, in C, on a thread declared with
 * {@code mpsprot_native_mutator_begin}). A fault there is taken in native state, where parking
 * the thread is safe; a plain Java access ({@code ByteBuffer}, {@code Unsafe}, JIT-compiled
 * code) to a protected page would park a thread the JVM considers "in Java" and deadlock the
 * next safepoint, so the module refuses it with the region's fallback ({@code FAIL_FAST} here:
 * a message and {@code abort()}, never a hang).
 *
 * <p>Run: {@code java -cp mps-prot/target/mps-prot.jar:mps-prot/target/test-classes
 * org.mpsprot.examples.ReadBarrierExample}
 */
public final class ReadBarrierExample {
  /** The first to-space value: a slot holding less than this is an unscanned reference. */
  static final long TO_SPACE = 1L << 40;

  static final int PAGES = 8;

  static final int SLOTS = 4;

  /** The pages the mutator reads, in this order (page 3 twice; the others never). */
  static final int[] READ_ORDER = {3, 0, 3, 6};

  private ReadBarrierExample() {}

  /**
   * One fault the collector resolved.
   *
   * @param page the page that faulted
   * @param access the access that faulted (READ or WRITE)
   * @param nativeState whether the mutator was in native state (always, through the accessors)
   * @param thread the thread the handler ran on (the module's barrier thread)
   */
  public record Scan(int page, AccessSet access, boolean nativeState, String thread) {}

  /**
   * What the example saw.
   *
   * @param values the slot values the mutator read, page by page in {@link #READ_ORDER}
   * @param scans the faults the collector resolved, in order
   * @param stillProtected the pages still unscanned (read-protected) at the end
   * @param handoffs the module's count of faults resolved by a Java collector during the run
   * @param mutatorThread the mutator's thread name
   */
  public record Outcome(
      List<long[]> values, List<Scan> scans, List<Integer> stillProtected, long handoffs, String mutatorThread) {}

  public static void main(String[] args) {
    run(System.out);
  }

  /** Runs the example, printing what happens to {@code out}. */
  public static Outcome run(PrintStream out) {
    Prot prot = Prot.setup();
    long page = prot.granularity();
    try (Region toSpace = prot.reserve(PAGES * page)) {
      // The copies arrive with from-space references in their slots (written through the
      // alias view, which is always read-write); the mutator must never see one.
      for (int p = 0; p < PAGES; p++) {
        for (int s = 0; s < SLOTS; s++) {
          toSpace.alias().putLong((int) (p * page + 8 * s), 100L * p + s);
        }
      }
      List<Scan> scans = new CopyOnWriteArrayList<>();
      toSpace.setHandoff((MutatorFaultContext fault) -> {
        // On the barrier thread, while the mutator is parked: scan the page through the alias,
        // then open it. The handler must leave the fault resolved (FaultHandler).
        Region r = fault.region();
        int p = (int) ((fault.address() - r.base()) / page);
        for (int s = 0; s < SLOTS; s++) {
          int at = (int) (p * page + 8 * s);
          long v = r.alias().getLong(at);
          if (v < TO_SPACE) {
            r.alias().putLong(at, TO_SPACE + v);
          }
        }
        r.protect(p * page, page, AccessSet.EMPTY);
        scans.add(new Scan(p, fault.access(), fault.nativeState(), Thread.currentThread().getName()));
      }, HandoffFallback.FAIL_FAST);
      toSpace.protectAll(AccessSet.ALL); // nothing scanned yet: no access for the mutator

      FaultCounters before = prot.counters();
      List<long[]> values = new ArrayList<>();
      for (int p : READ_ORDER) {
        long[] slots = new long[SLOTS];
        for (int s = 0; s < SLOTS; s++) {
          slots[s] = Accessors.getLong(toSpace.base() + p * page + 8 * s); // may park here
        }
        values.add(slots);
        out.println("mutator read page " + p + ": " + describe(slots));
      }
      long handoffs = prot.counters().minus(before).handoffs();
      for (Scan s : scans) {
        out.println("collector scanned page " + s.page() + " on " + s.thread() + " (a "
            + s.access() + " fault, mutator in native state: " + s.nativeState() + ")");
      }
      List<Integer> unscanned = new ArrayList<>();
      for (int p = 0; p < PAGES; p++) {
        if (toSpace.mode(p * page).equals(AccessSet.ALL)) {
          unscanned.add(p);
        }
      }
      out.println("faults handed off: " + handoffs + "; pages still unscanned: " + unscanned);
      return new Outcome(values, List.copyOf(scans), unscanned, handoffs, Thread.currentThread().getName());
    }
  }

  private static String describe(long[] slots) {
    StringBuilder b = new StringBuilder();
    for (long v : slots) {
      b.append(b.length() == 0 ? "" : " ").append(v < TO_SPACE ? "from:" + v : "to:" + (v - TO_SPACE));
    }
    return b.toString();
  }
}
