package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.mpsprot.AccessSet;
import org.mpsprot.Prot;
import org.mpsprot.ProtBatch;
import org.mpsprot.ProtRangeException;
import org.mpsprot.Region;
import org.mpsprot.RegionClosedException;
import org.mpsprot.testing.Regions;

/** Issue 14: refusals that point at what the caller did, and a batch that is all-or-nothing. */
class ApiMessagesTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();
  @RegisterExtension
  final Regions regions = new Regions();

  private Region reserve(long pages) {
    return regions.reserve(pages);
  }

  @Test
  void anAliasViewAddressIsNamedAsTheAliasViewOfItsRegion() {
    Region r = reserve(4);
    long at = r.aliasBase() + page;
    ProtRangeException e = assertThrows(ProtRangeException.class,
        () -> prot.set(at, at + page, AccessSet.WRITE));
    String m = e.getMessage();
    assertTrue(m.contains("alias view of region " + r), m);
    assertTrue(m.contains("offset " + page), m);
    assertTrue(m.contains(String.format("0x%x", r.base() + page)), "names the mutator's address: " + m);
    assertTrue(!m.contains("no live region"), m);
    ProtRangeException q = assertThrows(ProtRangeException.class, () -> prot.recordedMode(at));
    assertTrue(q.getMessage().contains("alias view of region " + r), q.getMessage());
    assertThrows(ProtRangeException.class, () -> prot.batch().set(at, at + page, AccessSet.WRITE));
  }

  @Test
  void anUnalignedProtectOffsetIsReportedAsTheOffsetPassed() {
    Region r = reserve(4);
    ProtRangeException e = assertThrows(ProtRangeException.class,
        () -> r.protect(page + 8, page, AccessSet.WRITE));
    String m = e.getMessage();
    assertTrue(m.startsWith("protect(offset=" + (page + 8) + ", length=" + page + ")"), m);
    assertTrue(m.contains("offset " + (page + 8) + " is not a multiple of the granularity " + page), m);
    assertTrue(!m.contains(String.format("0x%x", r.base() + page + 8)), "no absolute address: " + m);
    ProtRangeException l = assertThrows(ProtRangeException.class,
        () -> r.protect(page, 100, AccessSet.WRITE));
    assertTrue(l.getMessage().contains("length 100 is not a multiple"), l.getMessage());
    assertTrue(l.getMessage().contains("offset " + page + ", length " + page), "the pages it touches: "
        + l.getMessage());
  }

  @Test
  void aRangeAcrossTwoRegionsNamesBoth() {
    Region a = reserve(2);
    Region b = reserve(2);
    Region low = Long.compareUnsigned(a.base(), b.base()) < 0 ? a : b;
    Region high = low == a ? b : a;
    ProtRangeException e = assertThrows(ProtRangeException.class,
        () -> prot.set(low.limit() - page, high.base() + page, AccessSet.WRITE));
    String m = e.getMessage();
    assertTrue(m.contains(low.toString()), m);
    assertTrue(m.contains(high.toString()), "names the second region too: " + m);
    ProtRangeException gap = assertThrows(ProtRangeException.class,
        () -> prot.set(low.limit() - page, low.limit() + page, AccessSet.WRITE));
    assertTrue(gap.getMessage().contains("no live region holds"), gap.getMessage());
  }

  /** Before: the regions before the closed one in the batch's hash order were applied. */
  @Test
  void aBatchWithAClosedRegionAppliesNothingToAnyRegion() {
    List<Region> rs = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      rs.add(reserve(2));
    }
    ProtBatch batch = prot.batch();
    for (Region r : rs) {
      batch.set(r.base(), r.base() + page, AccessSet.WRITE);
    }
    Region closed = rs.get(7);
    closed.close();
    long calls = prot.osProtectCalls();
    RegionClosedException e = assertThrows(RegionClosedException.class, batch::apply);
    assertTrue(e.getMessage().contains(closed.toString()) && e.getMessage().contains("nothing was applied"),
        e.getMessage());
    assertEquals(calls, prot.osProtectCalls(), "no OS call was made");
    for (Region r : rs) {
      if (r != closed) {
        assertEquals(AccessSet.EMPTY, r.mode(0), "region " + r + " unchanged");
      }
    }
    assertEquals(List.of(), batch.applied());
    assertEquals(0, batch.apply(), "the refused batch was emptied");
  }

  @Test
  void aBatchAppliesInAscendingAddressOrderAndListsTheRuns() {
    Region a = reserve(4);
    Region b = reserve(4);
    ProtBatch batch = prot.batch()
        .set(b.base() + 2 * page, b.base() + 3 * page, AccessSet.ALL)
        .set(a.base() + 2 * page, a.base() + 3 * page, AccessSet.WRITE)
        .set(b.base(), b.base() + page, AccessSet.WRITE)
        .set(a.base(), a.base() + page, AccessSet.ALL);
    assertEquals(4, batch.apply());
    List<ProtBatch.Run> runs = batch.applied();
    assertEquals(4, runs.size(), runs.toString());
    for (int i = 1; i < runs.size(); i++) {
      assertTrue(Long.compareUnsigned(runs.get(i - 1).base(), runs.get(i).base()) < 0, runs.toString());
    }
    Region low = Long.compareUnsigned(a.base(), b.base()) < 0 ? a : b;
    assertEquals(new ProtBatch.Run(low.base(), low.base() + page, low == a ? AccessSet.ALL : AccessSet.WRITE),
        runs.get(0));
  }
}
