package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;
import org.mpsprot.AccessSet;
import org.mpsprot.Prot;
import org.mpsprot.ProtRangeException;
import org.mpsprot.Region;

/**
 * docs/performance.md .primitives.path: a ProtSet allocates nothing once compiled (no array per
 * call, no boxed key for the region lookup) and its lock-free lookup finds the right region, or
 * none, among many.
 */
class ProtSetPathTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();

  @Test
  void aProtSetAllocatesNothing() {
    var bean = ManagementFactory.getThreadMXBean();
    assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "no per-thread allocation counter");
    var mx = (com.sun.management.ThreadMXBean) bean;
    assumeTrue(mx.isThreadAllocatedMemorySupported() && mx.isThreadAllocatedMemoryEnabled());
    try (Region r = prot.reserve(4 * page)) {
      long b = r.base() + page;
      for (int i = 0; i < 60_000; i++) { // compile it
        prot.set(b, b + page, (i & 1) == 0 ? AccessSet.WRITE : AccessSet.EMPTY);
      }
      long tid = Thread.currentThread().getId();
      int calls = 20_000;
      long before = mx.getThreadAllocatedBytes(tid);
      for (int i = 0; i < calls; i++) {
        prot.set(b, b + page, (i & 1) == 0 ? AccessSet.WRITE : AccessSet.EMPTY);
      }
      long bytes = mx.getThreadAllocatedBytes(tid) - before;
      // One array or boxed Long per call would be at least 16 bytes a call: 320,000 bytes.
      assertTrue(bytes < calls, "ProtSet allocated " + bytes + " bytes in " + calls + " calls");
    }
  }

  @Test
  void theLockFreeLookupFindsEachRegionAndRefusesGaps() {
    Region[] rs = new Region[8];
    try {
      for (int i = 0; i < rs.length; i++) {
        rs[i] = prot.reserve((i + 1) * page);
      }
      for (Region r : rs) {
        prot.set(r.limit() - page, r.limit(), AccessSet.WRITE);
        assertEquals(AccessSet.WRITE, r.mode(r.size() - page));
        assertThrows(ProtRangeException.class, () -> prot.set(r.limit() - page, r.limit() + page, AccessSet.WRITE));
        assertThrows(ProtRangeException.class, () -> prot.set(r.limit(), r.limit() + page, AccessSet.WRITE));
      }
      Region closed = rs[3];
      closed.close();
      assertThrows(ProtRangeException.class, () -> prot.set(closed.base(), closed.base() + page, AccessSet.WRITE));
      prot.set(rs[4].base(), rs[4].base() + page, AccessSet.ALL);
      assertEquals(AccessSet.ALL, rs[4].mode(0));
    } finally {
      for (Region r : rs) {
        if (r != null) {
          r.close();
        }
      }
    }
  }
}
