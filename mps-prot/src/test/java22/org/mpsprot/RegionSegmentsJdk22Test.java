package org.mpsprot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The JDK 22+ segment views: the same bytes, the region's lifetime, no 2 GiB limit. */
class RegionSegmentsJdk22Test {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();

  @Test
  void bothViewsSeeTheSameBytesAndTheMutatorViewObeysProtection() {
    try (Region r = prot.reserve(4 * page)) {
      MemorySegment alias = RegionSegments.aliasSegment(r);
      MemorySegment mutator = RegionSegments.mutatorSegment(r);
      assertEquals(r.size(), alias.byteSize());
      assertEquals(r.base(), mutator.address());
      alias.set(ValueLayout.JAVA_LONG, page + 8, 42L);
      assertEquals(42L, mutator.get(ValueLayout.JAVA_LONG, page + 8));
      r.setPolicy(BarrierPolicy.UNPROTECT);
      r.protect(page, page, AccessSet.WRITE);
      mutator.set(ValueLayout.JAVA_LONG, page + 8, 43L); // faults; the handler opens the page
      assertEquals(AccessSet.EMPTY, r.mode(page));
      assertEquals(43L, alias.get(ValueLayout.JAVA_LONG, page + 8));
    }
  }

  @Test
  void anAccessAfterCloseThrowsInsteadOfCrashing() throws Exception {
    Region r = prot.reserve(2 * page);
    MemorySegment alias = RegionSegments.aliasSegment(r);
    MemorySegment mutator = RegionSegments.mutatorSegment(r);
    alias.set(ValueLayout.JAVA_INT, 0, 7);
    r.close();
    assertThrows(IllegalStateException.class, () -> alias.get(ValueLayout.JAVA_INT, 0));
    assertThrows(IllegalStateException.class, () -> mutator.set(ValueLayout.JAVA_INT, page, 1));
    // From another thread too (a shared arena).
    AtomicReference<Throwable> seen = new AtomicReference<>();
    Thread t = new Thread(() -> {
      try {
        alias.get(ValueLayout.JAVA_BYTE, 1);
      } catch (Throwable e) {
        seen.set(e);
      }
    });
    t.start();
    t.join();
    assertTrue(seen.get() instanceof IllegalStateException, String.valueOf(seen.get()));
    assertThrows(RegionClosedException.class, () -> RegionSegments.aliasSegment(r));
  }

  @Test
  void aViewHasNoTwoGibLimit() {
    long size = 3L << 30; // sparse: only the touched pages take memory
    try (Region r = prot.reserve(size)) {
      MemorySegment alias = RegionSegments.aliasSegment(r);
      MemorySegment mutator = RegionSegments.mutatorSegment(r);
      assertEquals(size, mutator.byteSize());
      long far = size - 8;
      alias.set(ValueLayout.JAVA_LONG, far, 0x1234_5678_9abcL);
      assertEquals(0x1234_5678_9abcL, mutator.get(ValueLayout.JAVA_LONG, far));
    }
  }
}
