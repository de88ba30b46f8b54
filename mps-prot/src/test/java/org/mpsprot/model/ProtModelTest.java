package org.mpsprot.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.mpsprot.Access;
import org.mpsprot.AccessSet;
import org.mpsprot.ProtRangeException;

/** The reference model alone: no native code, any OS. */
class ProtModelTest {
  private static final long PAGE = 16384; // a 16 KiB page, as on Apple Silicon: the model takes any

  @Test
  void checkedAccessSaysWhetherItFaultsAndUnderWhichMode() {
    ProtModel m = new ProtModel(PAGE);
    m.addRegion(0x100000, 4 * PAGE);
    m.set(0x100000 + PAGE, 0x100000 + 3 * PAGE, AccessSet.WRITE);
    assertEquals(new ProtModel.AccessCheck(true, AccessSet.WRITE), m.check(0x100000 + PAGE, Access.WRITE));
    assertFalse(m.check(0x100000 + PAGE, Access.READ).faults());
    assertFalse(m.check(0x100000 + 3 * PAGE, Access.WRITE).faults(), "limit is exclusive");
    m.set(0x100000, 0x100000 + PAGE, AccessSet.READ);
    assertTrue(m.check(0x100000 + 5, Access.WRITE).faults(), "forbidding READ forbids WRITE");
    assertEquals("---", m.expectedPerms(0x100000));
    assertEquals("r--", m.expectedPerms(0x100000 + PAGE));
    assertEquals("rw-", m.expectedPerms(0x100000 + 3 * PAGE));
  }

  @Test
  void refusesWhatTheModuleRefuses() {
    ProtModel m = new ProtModel(PAGE);
    m.addRegion(0x100000, 2 * PAGE);
    assertThrows(ProtRangeException.class, () -> m.set(0x100000 + 4096, 0x100000 + PAGE, AccessSet.ALL));
    assertThrows(ProtRangeException.class, () -> m.set(0x100000, 0x100000, AccessSet.ALL));
    assertThrows(ProtRangeException.class, () -> m.set(0x100000, 0x100000 + 3 * PAGE, AccessSet.ALL));
    assertThrows(ProtRangeException.class, () -> m.set(0x200000, 0x200000 + PAGE, AccessSet.ALL));
    assertThrows(ProtRangeException.class, () -> m.addRegion(0x100000 + PAGE, PAGE), "overlap");
    m.removeRegion(0x100000);
    assertThrows(ProtRangeException.class, () -> m.recordedMode(0x100000));
  }
}
