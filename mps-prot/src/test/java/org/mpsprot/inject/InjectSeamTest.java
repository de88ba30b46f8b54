package org.mpsprot.inject;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.mpsprot.AccessSet;
import org.mpsprot.Prot;
import org.mpsprot.ProtOsException;
import org.mpsprot.Region;

/** The seam itself: this JVM loaded the injection build, and an armed site fails its call. */
@EnabledIfSystemProperty(named = "mpsprot.inject", matches = "true",
    disabledReason = "needs the fault-injection build of the shim: run by the fault-injection execution")
class InjectSeamTest {
  @AfterEach
  void disarm() {
    Inject.disarmAll();
  }

  @Test
  void theInjectionBuildIsLoaded() {
    assertTrue(Inject.available(), "jna.library.path=" + System.getProperty("jna.library.path"));
  }

  @Test
  void anArmedMprotectFailsWithTheChosenErrno() {
    Prot prot = Prot.setup();
    long page = prot.granularity();
    try (Region r = prot.reserve(4 * page)) {
      Inject.arm(Inject.Site.MPROTECT, 1, 1, 12 /* ENOMEM */);
      ProtOsException e = assertThrows(ProtOsException.class, () -> r.protect(0, page, AccessSet.WRITE));
      assertEquals("ENOMEM", e.errnoName());
      assertEquals(1, Inject.fired(Inject.Site.MPROTECT));
      r.protect(0, page, AccessSet.WRITE); // the window was one call: the next succeeds
      assertEquals(AccessSet.WRITE, prot.recordedMode(r.base()));
    }
  }
}
