package org.mpsprot.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.mpsprot.barrier.CardMarkingStrategy;

/** The mutator API: objects, fields, handles, and the checks that catch a broken heap. */
class HeapApiTest {
  private static final HeapConfig SMALL = PageScale.config(64 << 10, 1 << 20, 1 << 20, true);

  private static Heap heap(boolean verify) {
    return Heap.generational(new CardMarkingStrategy(), SMALL.withVerify(verify));
  }

  @Test
  void fieldsRoundTripAndSurviveCollections() {
    try (Heap heap = heap(true)) {
      Handle a = heap.allocate(7, 2, 3);
      Handle b = heap.allocate(8, 0, 1);
      assertEquals(7, heap.type(a));
      assertEquals(2, heap.refCount(a));
      assertEquals(3, heap.dataCount(a));
      assertNull(heap.ref(a, 0), "references start null");
      assertEquals(0, heap.data(a, 2), "data starts zero");
      heap.setRef(a, 1, b);
      heap.setData(a, 2, -5);
      heap.setData(b, 0, 42);
      long before = heap.addressOf(a);
      heap.collect(false);
      assertNotEquals(before, heap.addressOf(a), "promoted: the handle was updated");
      assertEquals(-5, heap.data(a, 2));
      assertEquals(42, heap.data(heap.ref(a, 1), 0));
      assertTrue(heap.same(b, heap.ref(a, 1)));
      heap.collect(true);
      assertEquals(42, heap.data(heap.ref(a, 1), 0));
      heap.verify();
      HeapStats s = heap.stats();
      assertEquals(1, s.collector().minor());
      assertEquals(1, s.collector().major());
      assertEquals(3, s.verifications(), "after each collection, and once more here");
    }
  }

  @Test
  void badUseIsRefused() {
    try (Heap heap = heap(false); Heap other = heap(false)) {
      Handle a = heap.allocate(1, 1, 1);
      assertThrows(IndexOutOfBoundsException.class, () -> heap.ref(a, 1));
      assertThrows(IndexOutOfBoundsException.class, () -> heap.data(a, -1));
      assertThrows(IndexOutOfBoundsException.class, () -> heap.setData(a, 1, 0));
      assertThrows(IllegalArgumentException.class, () -> heap.allocate(0, 0, 0), "type 0 is the filler");
      assertThrows(IllegalArgumentException.class, () -> heap.allocate(1, 0, 1 << 20), "larger than a quarter nursery");
      assertThrows(IllegalArgumentException.class, () -> other.data(a, 0), "another heap's handle");
      assertThrows(IllegalStateException.class, heap::verify, "no model kept");
      int m = heap.mark();
      Handle b = heap.allocate(2, 0, 0);
      Handle kept = heap.releaseKeeping(m, b);
      assertFalse(b.isLive());
      assertTrue(kept.isLive());
      assertEquals(2, heap.type(kept));
      heap.release(m);
      assertThrows(IllegalStateException.class, () -> heap.type(kept), "released");
      assertThrows(IllegalArgumentException.class, () -> heap.release(m + 5));
    }
  }

  @Test
  void unreachableObjectsAreNotKept() {
    try (Heap heap = heap(true)) {
      Handle keep = heap.allocate(1, 1, 0);
      int m = heap.mark();
      for (int i = 0; i < 100; i++) {
        heap.allocate(2, 0, 8);
      }
      heap.release(m);
      heap.collect(false);
      assertEquals(1, heap.stats().objectsVerified(), "only the kept object is live");
      assertEquals(1, heap.type(keep));
    }
  }

  @Test
  void verificationCatchesAWriteTheModelDidNotSee() {
    try (Heap heap = heap(true)) {
      Handle a = heap.allocate(1, 1, 1);
      heap.setData(a, 0, 3);
      heap.collect(false);
      long at = ObjectLayout.dataSlot(heap.addressOf(a), 1, 0);
      heap.collector().memory().store(at, 4); // behind the API's back
      HeapVerificationException e = assertThrows(HeapVerificationException.class, heap::verify);
      assertTrue(e.getMessage().contains("data word 0"), e.getMessage());
      assertThrows(HeapVerificationException.class, () -> heap.data(a, 0), "the read is checked too");
    }
  }

  @Test
  void verificationCatchesAReferenceTheModelDidNotSee() {
    try (Heap heap = heap(true)) {
      Handle a = heap.allocate(1, 2, 0);
      Handle b = heap.allocate(1, 0, 0);
      Handle c = heap.allocate(1, 0, 0);
      heap.setRef(a, 0, b);
      heap.setRef(a, 1, c);
      heap.collect(false);
      heap.collector().memory().store(ObjectLayout.refSlot(heap.addressOf(a), 1), heap.addressOf(b));
      HeapVerificationException e = assertThrows(HeapVerificationException.class, heap::verify);
      assertTrue(e.getMessage().contains("merged") || e.getMessage().contains("duplicated"), e.getMessage());
    }
  }

  @Test
  void aStaleReferenceMeetsPoison() {
    try (Heap heap = heap(false)) {
      Handle old = heap.allocate(1, 1, 0);
      heap.collect(false); // old is promoted
      Handle young = heap.allocate(2, 0, 1);
      long stale = heap.addressOf(young);
      heap.collect(false); // young is promoted; its nursery copy is poisoned
      assertEquals(ObjectLayout.POISON, (long) heap.collector().inspect(i -> i.load(stale)));
      heap.collector().memory().store(ObjectLayout.refSlot(heap.addressOf(old), 0), stale);
      Handle h = heap.ref(old, 0);
      HeapVerificationException e = assertThrows(HeapVerificationException.class, () -> heap.data(h, 0));
      assertTrue(e.getMessage().contains("POISON") && e.getMessage().contains("stale"), e.getMessage());
    }
  }
}
