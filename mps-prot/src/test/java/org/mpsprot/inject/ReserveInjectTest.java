package org.mpsprot.inject;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.mpsprot.AccessSet;
import org.mpsprot.Prot;
import org.mpsprot.ProtOsException;
import org.mpsprot.Region;
import org.mpsprot.testing.OsMaps;

/**
 * Region creation (docs/design/prot.md .sol.guard, .sol.fork) fails at each of its OS calls in
 * turn: the reservation of the address space, the memfd, its ftruncate, the two views and the
 * bookkeeping mapped into the reservation, the madvise(MADV_DONTFORK). Each failure is reported
 * with its stage and errno, and leaves nothing behind: no slot, no mapping, no descriptor; the
 * next reserve works and has its guard pages.
 */
@EnabledIfSystemProperty(named = "mpsprot.inject", matches = "true",
    disabledReason = "needs the fault-injection build of the shim: run by the fault-injection execution")
class ReserveInjectTest {
  private static final int ENOMEM = 12;
  private static final int EMFILE = 24;

  @AfterEach
  void disarm() {
    Inject.disarmAll();
  }

  private record Case(Inject.Site site, int nth, int errno, String errnoName, String stage) {}

  private static int mapCount() {
    try {
      return Files.readAllLines(Path.of("/proc/self/maps")).size();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static int fdCount() {
    String[] fds = new File("/proc/self/fd").list();
    return fds == null ? -1 : fds.length;
  }

  @Test
  void everyStageOfReserveFailsCleanly() {
    Prot prot = Prot.setup();
    long page = prot.granularity();
    prot.reserve(page).close(); // first use: the module's own one-time mappings are made
    List<Case> cases = List.of(
        new Case(Inject.Site.MMAP, 1, ENOMEM, "ENOMEM", "mmap reserving the region's address space"),
        new Case(Inject.Site.MEMFD, 1, EMFILE, "EMFILE", "memfd_create"),
        new Case(Inject.Site.FTRUNCATE, 1, ENOMEM, "ENOMEM", "ftruncate of the memfd"),
        new Case(Inject.Site.MMAP, 2, ENOMEM, "ENOMEM", "mmap of the mutator's view"),
        new Case(Inject.Site.MMAP, 3, ENOMEM, "ENOMEM", "mmap of the alias view"),
        new Case(Inject.Site.MMAP, 4, ENOMEM, "ENOMEM", "mmap of the protection record"),
        new Case(Inject.Site.MMAP, 5, ENOMEM, "ENOMEM", "madvise(MADV_DONTFORK)"));
    int regions = ((org.mpsprot.core.ProtModule) prot).regions().size();
    for (Case c : cases) {
      // The JVM maps and opens things of its own meanwhile (compiler arenas, thread stacks):
      // a count that differs is tried again, up to three times; a real leak differs every time.
      String leak = null;
      for (int attempt = 0; attempt < 3; attempt++) {
        int maps = mapCount();
        int fds = fdCount();
        Inject.arm(c.site(), c.nth(), 1, c.errno());
        ProtOsException e = assertThrows(ProtOsException.class, () -> prot.reserve(4 * page), c.toString());
        assertEquals(1, Inject.fired(c.site()), c + ": the armed call was made");
        Inject.disarmAll();
        assertEquals(c.errnoName(), e.errnoName(), c + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(c.stage()), c + ": " + e.getMessage());
        int mapsAfter = mapCount();
        int fdsAfter = fdCount();
        leak = maps != mapsAfter ? c + ": mappings " + maps + " before, " + mapsAfter + " after"
            : fds != fdsAfter ? c + ": descriptors " + fds + " before, " + fdsAfter + " after" : null;
        if (leak == null) {
          break;
        }
      }
      assertEquals(null, leak, "nothing left behind, in three attempts");
      assertEquals(regions, ((org.mpsprot.core.ProtModule) prot).regions().size(), c + ": no region");
      try (Region r = prot.reserve(4 * page)) { // the next one works, guards included
        r.protect(0, page, AccessSet.WRITE);
        assertEquals("---", OsMaps.perms(r.limit()), c + ": the guard after the view");
        assertEquals("---", OsMaps.perms(r.aliasBase() + r.size()), c + ": the guard after the alias");
      }
    }
  }
}
