package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.Prot;
import org.mpsprot.ProtRangeException;
import org.mpsprot.Region;

/**
 * Regions over 2 GiB have ByteBuffer windows (Region.alias(offset, length),
 * mutatorView(offset, length)), bounds-checked. A 3 GiB region costs only its touched pages
 * (memfd, mapped twice), natively and under qemu-user alike.
 */
class LargeRegionViewTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();

  @Test
  void aRegionOverTwoGibHasWindowedViews() {
    long size = 3L << 30;
    try (Region r = prot.reserve(size)) {
      assertTrue(r.size() > Integer.MAX_VALUE);
      UnsupportedOperationException whole = assertThrows(UnsupportedOperationException.class, r::alias);
      assertTrue(whole.getMessage().contains("alias(offset, length)"), whole.getMessage());
      long far = r.size() - 2 * page; // beyond 2 GiB
      ByteBuffer a = r.alias(far, (int) page);
      assertEquals(page, a.capacity());
      a.putLong(8, 0x1122334455667788L);
      r.setPolicy(BarrierPolicy.UNPROTECT);
      r.protect(far, page, AccessSet.WRITE); // read-only: a read does not fault
      assertEquals(0x1122334455667788L, r.mutatorView(far, (int) page).getLong(8));
      assertEquals(0x1122334455667788L, r.alias(far + 8, 8).getLong(0), "position 0 is byte offset");
      ByteBuffer last = r.alias(r.size() - 8, 8);
      last.putLong(0, -1L);
      assertEquals(-1L, r.mutatorView(r.size() - 8, 8).getLong(0));
      assertEquals(0, r.alias(r.size(), 0).capacity(), "an empty window at the end is allowed");
    }
  }

  @Test
  void windowsOutsideTheRegionAreRefusedWithTheValues() {
    try (Region r = prot.reserve(4 * page)) {
      ProtRangeException past = assertThrows(ProtRangeException.class, () -> r.alias(3 * page, (int) page + 1));
      assertTrue(past.getMessage().contains("alias(offset=" + 3 * page + ", length=" + (page + 1) + ")"),
          past.getMessage());
      assertThrows(ProtRangeException.class, () -> r.mutatorView(-1, 8));
      assertThrows(ProtRangeException.class, () -> r.mutatorView(0, -1));
      assertThrows(ProtRangeException.class, () -> r.alias(Long.MAX_VALUE, 8));
      assertEquals(4 * page, r.alias(0, (int) (4 * page)).capacity());
    }
  }
}
