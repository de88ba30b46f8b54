package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.mpsprot.AccessSet;
import org.mpsprot.Prot;
import org.mpsprot.ProtOsException;
import org.mpsprot.ProtRangeException;
import org.mpsprot.Region;
import org.mpsprot.model.RangeRules;

/**
 * Every size and every count of regions either works fully or is refused with nothing left
 * behind (issue 10 items 13 and 16; Prot.reserve's javadoc): sizes beyond the most pages a
 * region may have are refused before any native call, the largest size works, and the 1025th
 * live region is refused with a message about the shim's region table, not file descriptors.
 */
class ReserveLimitsTest {
  private static final long TIB = 1L << 40;
  private final ProtModule prot = (ProtModule) Prot.setup();
  private final long page = prot.granularity();

  /** What a leak would change: live slots, the module's regions, our mappings, huge mappings. */
  private record Snapshot(int slots, int regions, List<String> ours, List<String> huge) {}

  private Snapshot snapshot() {
    List<String> lines;
    try {
      lines = Files.readAllLines(Path.of("/proc/self/maps"));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    List<String> ours = lines.stream().filter(l -> l.contains("mpsprot")).collect(Collectors.toList());
    List<String> huge = lines.stream().filter(l -> {
      String[] r = l.split(" ", 2)[0].split("-");
      long lo = Long.parseUnsignedLong(r[0], 16);
      long hi = Long.parseUnsignedLong(r[1], 16);
      return hi - lo >= (1L << 38); // 256 GiB: none of the JVM's own
    }).collect(Collectors.toList());
    return new Snapshot(prot.os().regionCount(), prot.regions().size(), ours, huge);
  }

  @Test
  void sizesBeyondTheMostPagesAreRefusedWithNothingLeftBehind() {
    Snapshot before = snapshot();
    long max = RangeRules.maxRegionSize(page);
    for (long size : new long[] {8 * TIB, 16 * TIB, max + 1, max + page, Long.MAX_VALUE / 2,
        Long.MAX_VALUE - page, Long.MAX_VALUE}) {
      ProtRangeException e = assertThrows(ProtRangeException.class, () -> prot.reserve(size),
          "reserve(" + size + ")");
      assertTrue(e.getMessage().contains("reserve(" + size + ")"), e.getMessage());
      assertEquals(before, snapshot(), "after reserve(" + size + ")");
    }
    if (before.slots() == 0) {
      prot.uninstallHandler(); // refused for ever when a refused reserve leaked a slot
      assertFalse(prot.handlerInstalled());
      prot.reserve(page).close(); // and reserve installs it again
      assertTrue(prot.handlerInstalled());
    }
  }

  @Test
  void theLargestSizeWorksFully() {
    org.mpsprot.testing.Emulation.skip("ReserveLimitsTest#theLargestSizeWorksFully",
        "qemu-user keeps per-page state for every guest page it maps: an 8 TiB region took the"
        + " emulator to 23 GB of memory and the OOM killer (seen 2026-11-29)");
    Snapshot before = snapshot();
    long max = RangeRules.maxRegionSize(page);
    try (Region r = prot.reserve(max)) {
      assertEquals(max, r.size());
      assertEquals(RangeRules.MAX_REGION_PAGES, r.pages());
      assertEquals(AccessSet.EMPTY, r.mode(max - 1));
      r.protect(max - page, page, AccessSet.WRITE);
      assertEquals(AccessSet.WRITE, r.mode(max - 1), "the record's last byte");
      assertEquals(AccessSet.EMPTY, r.mode(max - page - 1));
      assertTrue(r.dirtyPages().isEmpty());
    }
    assertEquals(before, snapshot(), "closed: nothing left");
  }

  @Test
  void theShimCheckAgreesWithTheJavaLimit() {
    // Below the Java check: the shim itself refuses one page more than the most (EINVAL).
    long[] out = new long[4];
    assertEquals(22, org.mpsprot.os.ShimTestAccess.create((RangeRules.MAX_REGION_PAGES + 1) * page, out));
    assertEquals(0, out[3], "refused by the argument check, before any system call");
  }

  @Test
  void theRegionAfterTheLastSlotIsRefusedNamingTheTable() {
    Snapshot before = snapshot();
    List<Region> held = new ArrayList<>();
    try {
      ProtOsException refused = null;
      for (int i = 0; i <= 1024 && refused == null; i++) {
        try {
          held.add(prot.reserve(page));
        } catch (ProtOsException e) {
          refused = e;
        }
      }
      assertTrue(refused != null, "1025 live regions were accepted");
      assertEquals(1024, prot.os().regionCount(), "refused exactly when the table was full");
      String m = refused.getMessage();
      assertEquals("ENFILE", refused.errnoName(), m);
      assertTrue(m.contains("1024 regions are live"), m);
      assertTrue(m.contains("region table holds at most 1024"), m);
      assertTrue(m.contains("not the file-descriptor limit"), m);
      assertTrue(m.contains("close regions"), m);
      assertFalse(m.contains("raise the limit (ulimit -n)"), m);
    } finally {
      held.forEach(Region::close);
    }
    assertEquals(before, snapshot(), "all closed: as before");
  }
}
