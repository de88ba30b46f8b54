package org.mpsprot.gc;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mpsprot.barrier.Availability;
import org.mpsprot.barrier.StrategyUnavailableException;
import org.mpsprot.barrier.Strategies;
import org.mpsprot.check.Gen;
import org.mpsprot.check.Property;

/**
 * No live object is lost or corrupted, under every write-barrier strategy and under the read
 * barrier, across seeds: the heap is verified against the shadow model after every collection
 * (and flip), and once more at the end. Two programs: the demo's workload (trees, old-to-young
 * stores) in small spaces so that minor and major collections (or flips) both happen; and random
 * mutation programs over a shared, cyclic graph, through the project's property harness (replay
 * a failure with -Dmpsprot.check.seed=S).
 */
class CollectorCorrectnessTest {
  static final HeapConfig SMALL = PageScale.config(64 << 10, 320 << 10, 512 << 10, true);

  /** A heap for a strategy name, "read-barrier", or "read-barrier-faults" (no background scanner). */
  static Heap heapFor(String barrier, HeapConfig config) {
    switch (barrier) {
      case "read-barrier": return Heap.readBarrier(config);
      case "read-barrier-faults": return Heap.readBarrier(config, false);
      default: return Heap.generational(Strategies.byName(barrier), config);
    }
  }

  /** Whether the barrier works here; an unavailable one must refuse with its reason. */
  static boolean available(String barrier) {
    if (barrier.startsWith("read-barrier")) {
      return true;
    }
    Availability a = Strategies.byName(barrier).availability();
    if (!a.available()) {
      assertFalse(a.reason().isBlank());
      StrategyUnavailableException e = assertThrows(StrategyUnavailableException.class, () -> heapFor(barrier, SMALL));
      assertTrue(e.getMessage().contains(a.reason()));
      System.out.println(barrier + " unavailable, reported: " + a.reason());
    }
    return a.available();
  }

  @ParameterizedTest
  @ValueSource(strings = {"fault", "uffd", "soft-dirty", "cards", "cards-page", "read-barrier", "read-barrier-faults"})
  void theWorkloadSurvivesEveryCollectionAcrossSeeds(String barrier) {
    if (!available(barrier)) {
      return;
    }
    for (long seed = 1; seed <= 3; seed++) {
      try (Heap heap = heapFor(barrier, SMALL)) {
        new Workload(heap, Workload.Params.of(PageScale.depth(9), seed)).run(line -> { });
        heap.verify();
        HeapStats s = heap.stats();
        System.out.printf("%s seed %d: %s%n", barrier, seed, s);
        assertTrue(s.collector().major() > 0, "major collections (or flips) happened: " + s);
        assertTrue(barrier.startsWith("read-barrier") ? s.collector().collections() > 0 : s.collector().minor() > 0, s.toString());
        assertTrue(s.verifications() > s.collector().collections(), s.toString());
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"fault", "uffd", "soft-dirty", "cards", "read-barrier", "read-barrier-faults"})
  void randomMutationProgramsKeepTheGraph(String barrier) {
    if (!available(barrier)) {
      return;
    }
    long[] totals = new long[3];
    Property.forAll("random graph under " + barrier, Gen.longs(0, Long.MAX_VALUE), 12, 5L, seed -> {
      try (Heap heap = heapFor(barrier, SMALL)) {
        mutate(heap, new SplittableRandom(seed), 1500);
        heap.verify();
        HeapStats s = heap.stats();
        totals[0] += s.collector().collections();
        totals[1] += s.collector().major();
        totals[2] += s.collector().barrierHits();
      }
    });
    System.out.printf("%s: %d collections, %d major (or flips), %d barrier hits over 12 programs%n", barrier,
        totals[0], totals[1], totals[2]);
    assertTrue(totals[0] > 12 && totals[1] > 0 && totals[2] > 0, "the programs collected and hit the barrier");
  }

  /**
   * A random program: a table of 16 slots held by the only root; each step picks an object by
   * a random walk from the table and allocates into it, links it to another walked-to object
   * (sharing and cycles), clears a slot, writes data, or collects.
   */
  static void mutate(Heap heap, SplittableRandom rnd, int steps) {
    Handle table = heap.allocate(3, 16, 0);
    for (int i = 0; i < steps; i++) {
      int m = heap.mark();
      Handle a = walk(heap, table, rnd);
      int action = rnd.nextInt(20);
      int refs = heap.refCount(a);
      if (action < 8 && refs > 0) {
        Handle n = heap.allocate(4, rnd.nextInt(5), rnd.nextInt(6));
        for (int d = 0; d < heap.dataCount(n); d++) {
          heap.setData(n, d, rnd.nextLong());
        }
        heap.setRef(a, rnd.nextInt(refs), n);
      } else if (action < 13 && refs > 0) {
        heap.setRef(a, rnd.nextInt(refs), walk(heap, table, rnd));
      } else if (action < 15 && refs > 0) {
        heap.setRef(a, rnd.nextInt(refs), null);
      } else if (action < 18 && heap.dataCount(a) > 0) {
        heap.setData(a, rnd.nextInt(heap.dataCount(a)), rnd.nextLong());
      } else if (action == 18) {
        heap.collect(rnd.nextInt(4) == 0);
      } else {
        for (int k = rnd.nextInt(200); k > 0; k--) {
          heap.allocate(5, 1, 2); // garbage, to fill the nursery or the semispace
        }
      }
      heap.release(m);
    }
  }

  private static Handle walk(Heap heap, Handle from, SplittableRandom rnd) {
    Handle h = from;
    for (int steps = rnd.nextInt(6); steps > 0; steps--) {
      int refs = heap.refCount(h);
      if (refs == 0) {
        break;
      }
      Handle next = heap.ref(h, rnd.nextInt(refs));
      if (next == null) {
        break;
      }
      h = next;
    }
    return h;
  }
}
