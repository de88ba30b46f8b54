package org.mpsprot.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mpsprot.AccessSet;

/** Runs {@link ReadBarrierExample} and checks what the mutator and the collector saw. */
class ReadBarrierExampleTest {

  @Test
  void theMutatorSeesOnlyScannedValuesAndEachTouchedPageIsScannedOnceOnTheBarrierThread() {
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    ReadBarrierExample.Outcome o = ReadBarrierExample.run(new PrintStream(text, true, StandardCharsets.UTF_8));
    String printed = text.toString(StandardCharsets.UTF_8);
    System.out.print(printed);

    int[] order = ReadBarrierExample.READ_ORDER;
    assertEquals(order.length, o.values().size());
    for (int i = 0; i < order.length; i++) {
      long[] slots = o.values().get(i);
      for (int s = 0; s < slots.length; s++) {
        assertEquals(ReadBarrierExample.TO_SPACE + 100L * order[i] + s, slots[s],
            "page " + order[i] + " slot " + s + ": the scanned (to-space) value");
      }
    }
    // Pages 3, 0, 6 fault once each, in the order first touched; page 3's second read does not.
    assertEquals(List.of(3, 0, 6), o.scans().stream().map(ReadBarrierExample.Scan::page).toList());
    assertEquals(3, o.handoffs(), "the module counted three handoffs");
    for (ReadBarrierExample.Scan s : o.scans()) {
      assertEquals(AccessSet.READ, s.access());
      assertTrue(s.nativeState(), "the accessors fault in native state");
      assertNotEquals(o.mutatorThread(), s.thread(), "the handler runs on the barrier thread, not the mutator's");
    }
    assertEquals(List.of(1, 2, 4, 5, 7), o.stillProtected(), "untouched pages stay unscanned");
    assertTrue(printed.contains("mutator read page 3: to:300 to:301 to:302 to:303"), printed);
    assertTrue(printed.contains("faults handed off: 3; pages still unscanned: [1, 2, 4, 5, 7]"), printed);
  }

  @Test
  void mainPrintsTheMutatorsReadsAndTheCollectorsScans() {
    PrintStream saved = System.out;
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    System.setOut(new PrintStream(text, true, StandardCharsets.UTF_8));
    try {
      ReadBarrierExample.main(new String[0]);
    } finally {
      System.setOut(saved);
    }
    List<String> lines = text.toString(StandardCharsets.UTF_8).lines().toList();
    System.out.println(String.join("\n", lines));
    assertEquals(ReadBarrierExample.READ_ORDER.length + 3 + 1, lines.size(), "reads, scans, summary");
    assertTrue(lines.stream().noneMatch(l -> l.contains("from:")), "no from-space value reached the mutator");
    assertEquals("collector scanned page 3", lines.get(4).substring(0, "collector scanned page 3".length()));
  }
}
