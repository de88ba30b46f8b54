package org.mpsprot.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.mpsprot.check.Gen;
import org.mpsprot.check.Property;

/** The object model's header, forwarding and poison encodings (.heap.object). */
class ObjectLayoutTest {
  @Test
  void headersRoundTrip() {
    Property.forAll("header round trip", Gen.ints(0, ObjectLayout.MAX_TYPE + 1).flatMap(type ->
        Gen.ints(0, ObjectLayout.MAX_REFS + 1).flatMap(refs ->
            Gen.ints(refs + 1, Integer.MAX_VALUE).map(size -> new int[] {type, refs, size}))), 2000, 11L, v -> {
          long h = ObjectLayout.header(v[0], v[1], v[2]);
          assertTrue(ObjectLayout.isObject(h));
          assertFalse(ObjectLayout.isForwarded(h));
          assertEquals(v[0], ObjectLayout.type(h));
          assertEquals(v[1], ObjectLayout.refs(h));
          assertEquals(v[2], ObjectLayout.sizeWords(h));
        });
  }

  @Test
  void badHeadersAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> ObjectLayout.header(ObjectLayout.MAX_TYPE + 1, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> ObjectLayout.header(1, 2, 2), "refs must be below size");
    assertThrows(IllegalArgumentException.class, () -> ObjectLayout.header(1, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> ObjectLayout.header(-1, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> ObjectLayout.sizeWords(-1, 0));
  }

  @Test
  void forwardingAndPoisonAreNeverHeaders() {
    long f = ObjectLayout.forwarding(0x7f00_1234_5678L);
    assertTrue(ObjectLayout.isForwarded(f));
    assertFalse(ObjectLayout.isObject(f));
    assertEquals(0x7f00_1234_5678L, ObjectLayout.forwardee(f));
    assertThrows(IllegalArgumentException.class, () -> ObjectLayout.forwarding(0x1001));
    assertFalse(ObjectLayout.isObject(ObjectLayout.POISON));
    assertFalse(ObjectLayout.isForwarded(ObjectLayout.POISON));
    assertFalse(ObjectLayout.isObject(0));
    assertTrue(ObjectLayout.describe(ObjectLayout.POISON).contains("POISON"));
  }

  @Test
  void slotsFollowTheHeader() {
    assertEquals(0x1008, ObjectLayout.refSlot(0x1000, 0));
    assertEquals(0x1018, ObjectLayout.refSlot(0x1000, 2));
    assertEquals(0x1020, ObjectLayout.dataSlot(0x1000, 3, 0));
    assertEquals(5, ObjectLayout.sizeWords(3, 1));
  }
}
