package org.mpsprot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AccessSetTest {
  @Test
  void valuesAreCanonicalAndMatchMpsBits() {
    assertSame(AccessSet.EMPTY, AccessSet.of());
    assertSame(AccessSet.READ, AccessSet.of(Access.READ));
    assertSame(AccessSet.WRITE, AccessSet.of(Access.WRITE));
    assertSame(AccessSet.ALL, AccessSet.of(Access.WRITE, Access.READ));
    assertEquals(1, AccessSet.READ.bits());
    assertEquals(2, AccessSet.WRITE.bits());
    for (int b = 0; b < 4; b++) {
      assertEquals(b, AccessSet.fromBits(b).bits());
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AccessSet.fromBits(4));
    assertTrue(e.getMessage().contains("0 to 3"), e.getMessage());
    assertThrows(NullPointerException.class, () -> AccessSet.of((Access) null));
  }

  @Test
  void setOperations() {
    assertSame(AccessSet.ALL, AccessSet.READ.union(AccessSet.WRITE));
    assertSame(AccessSet.WRITE, AccessSet.ALL.intersection(AccessSet.WRITE));
    assertSame(AccessSet.READ, AccessSet.ALL.minus(AccessSet.WRITE));
    assertSame(AccessSet.EMPTY, AccessSet.ALL.complement());
    assertSame(AccessSet.WRITE, AccessSet.READ.complement());
    assertTrue(AccessSet.WRITE.isSubsetOf(AccessSet.ALL));
    assertFalse(AccessSet.ALL.isSubsetOf(AccessSet.WRITE));
    assertTrue(AccessSet.EMPTY.isEmpty());
    assertTrue(AccessSet.ALL.contains(Access.READ));
    assertFalse(AccessSet.WRITE.contains(Access.READ));
  }

  @Test
  void forbiddingReadForbidsWriteToo() {
    assertSame(AccessSet.ALL, AccessSet.READ.effective());
    assertSame(AccessSet.WRITE, AccessSet.WRITE.effective());
    assertTrue(AccessSet.READ.forbids(Access.WRITE));
    assertFalse(AccessSet.WRITE.forbids(Access.READ));
    assertFalse(AccessSet.EMPTY.forbids(Access.WRITE));
  }

  @Test
  void readableToString() {
    assertEquals("{}", AccessSet.EMPTY.toString());
    assertEquals("{READ}", AccessSet.READ.toString());
    assertEquals("{WRITE}", AccessSet.WRITE.toString());
    assertEquals("{READ, WRITE}", AccessSet.ALL.toString());
  }
}
