package org.mpsprot.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The object-start map answers "which object covers this block's first byte". */
class CrossingMapTest {
  @Test
  void eachBlockKnowsTheObjectCoveringItsStart() {
    CrossingMap m = new CrossingMap(4096);
    m.record(0, 24);
    m.record(24, 600);
    m.record(600, 1024);
    m.record(1024, 1032);
    m.record(1032, 2600);
    assertEquals(0, m.coveringBlockOf(0));
    assertEquals(0, m.coveringBlockOf(100));
    assertEquals(24, m.coveringBlockOf(512));
    assertEquals(1024, m.coveringBlockOf(1024), "an object starting at the block start covers it");
    assertEquals(1032, m.coveringBlockOf(1536));
    assertEquals(1032, m.coveringBlockOf(2048));
    assertEquals(1032, m.coveringBlockOf(2560));
    assertEquals(-1, m.coveringBlockOf(3072), "beyond the last object");
    m.clear();
    assertEquals(-1, m.coveringBlockOf(0));
  }
}
