package org.mpsprot.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mpsprot.barrier.BrokenStrategy;
import org.mpsprot.barrier.Strategies;
import org.mpsprot.barrier.WriteBarrierStrategy;

/**
 * Verification catches a broken write barrier: with a tracker that drops one dirty granule per
 * harvest ({@link BrokenStrategy}), an old object whose slot was the only reference to a young
 * one is not scanned, the young object is not promoted, and the slot is left pointing into the
 * poisoned nursery; the same program under the intact strategy verifies.
 */
class BrokenBarrierTest {
  private static final HeapConfig SMALL = PageScale.config(64 << 10, 1 << 20, 1 << 20, true);

  /** Old object o, a young object stored only in o's slot, then a minor collection. */
  private static void oldToYoung(WriteBarrierStrategy strategy) {
    try (Heap heap = Heap.generational(strategy, SMALL)) {
      Handle o = heap.allocate(1, 1, 0);
      heap.collect(false); // o is old now
      int m = heap.mark();
      Handle y = heap.allocate(2, 0, 1);
      heap.setData(y, 0, 99);
      heap.setRef(o, 0, y);
      heap.release(m); // only o's slot refers to y
      heap.collect(false);
      assertEquals(99, heap.data(heap.ref(o, 0), 0));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"fault", "uffd", "cards", "cards-page"})
  void aDroppedDirtyPageIsDetected(String name) {
    WriteBarrierStrategy s = Strategies.byName(name);
    if (!s.availability().available()) {
      return; // reported with its reason by CollectorCorrectnessTest
    }
    oldToYoung(s); // the intact barrier: verifies
    BrokenStrategy broken = new BrokenStrategy(Strategies.byName(name));
    HeapVerificationException e = assertThrows(HeapVerificationException.class, () -> oldToYoung(broken));
    assertTrue(broken.dropped() > 0);
    assertTrue(e.getMessage().contains("evacuated part of the nursery"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"fault", "cards"})
  void theWorkloadUnderABrokenBarrierFailsVerification(String name) {
    try (Heap heap = Heap.generational(new BrokenStrategy(Strategies.byName(name)), SMALL)) {
      assertThrows(HeapVerificationException.class,
          () -> new Workload(heap, Workload.Params.of(PageScale.depth(9), 1)).run(line -> { }));
    }
  }
}
