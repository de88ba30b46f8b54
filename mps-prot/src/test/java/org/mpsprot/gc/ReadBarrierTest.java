package org.mpsprot.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.mpsprot.FaultCounters;
import org.mpsprot.Prot;
import org.mpsprot.testing.ChildJvm;

/**
 * The read barrier (.heap.readbarrier): after a flip, the mutator's first touch of an unscanned
 * to-space page is handed to the collector, which scans the page and opens it; a Java-state
 * access to such a page is refused with the fail-fast message of .rule.native, never a hang; a
 * handler that opens pages without scanning them is caught by verification.
 */
class ReadBarrierTest {
  /** 16, 256 and 64 pages: sizes in pages, so that a 64 KiB page does not leave a 4-page semispace. */
  private static final HeapConfig SMALL = PageScale.config(64 << 10, 1 << 20, 256 << 10, true);

  @Test
  void theFirstTouchOfAnUnscannedPageIsHandedToTheCollector() {
    Prot prot = Prot.setup();
    try (Heap heap = Heap.readBarrier(SMALL, false)) {
      Handle a = heap.allocate(1, 1, 1);
      Handle b = heap.allocate(2, 0, 1);
      heap.setRef(a, 0, b);
      heap.setData(b, 0, 77);
      heap.release(heap.mark() - 1); // only a is a root now
      heap.collect(false); // the flip: a is copied, b not yet
      long before = heap.stats().collector().barrierHits();
      FaultCounters c0 = prot.counters();
      assertEquals(1, heap.type(a), "the first touch of a's page faults, the collector scans and opens it");
      FaultCounters d = prot.counters().minus(c0);
      assertTrue(d.handoffs() >= 1, "handed off: " + d);
      assertEquals(0, d.failFast());
      assertTrue(heap.stats().collector().barrierHits() > before);
      assertEquals(77, heap.data(heap.ref(a, 0), 0), "b was copied when a's page was scanned");
      heap.verify();
    }
  }

  @Test
  void withoutTheBackgroundScannerEveryPageIsScannedByAFaultOrAFlip() {
    try (Heap heap = Heap.readBarrier(SMALL, false)) {
      new Workload(heap, Workload.Params.of(PageScale.depth(9), 4)).run(line -> { });
      CollectorStats c = heap.stats().collector();
      assertTrue(c.barrierHits() > 100, "the mutator's faults drove the scanning: " + c);
      assertTrue(c.collections() > 5, c.toString());
      assertTrue(c.pagesScanned() >= c.barrierHits() / 2, "each fault scans a page (or finds it scanned): " + c);
    }
  }

  @Test
  void aHandlerThatOpensPagesWithoutScanningThemIsCaught() {
    try (Heap heap = Heap.brokenReadBarrier(SMALL)) {
      HeapVerificationException e = assertThrows(HeapVerificationException.class,
          () -> new Workload(heap, Workload.Params.of(PageScale.depth(9), 4)).run(line -> { }));
      System.out.println("broken read barrier caught: " + e.getMessage());
    }
  }

  @Test
  void aJavaStateAccessToAnUnscannedPageFailsFast() throws Exception {
    ChildJvm.Result r = ChildJvm.run(ReadBarrierChild.class, 90, List.of("-Xmx64m"));
    assertFalse(r.timedOut(), "the child hung:\n" + r.output());
    assertTrue(r.output().contains("READY"), r.output());
    assertFalse(r.output().contains("NOT REACHED"), r.output());
    assertEquals(134, r.exit(), "SIGABRT expected:\n" + r.output());
    assertTrue(r.output().contains(".rule.native"), r.output());
  }
}
