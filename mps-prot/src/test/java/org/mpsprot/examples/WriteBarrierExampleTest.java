package org.mpsprot.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Runs {@link WriteBarrierExample} and checks what it reports, strategy by strategy. */
class WriteBarrierExampleTest {

  @ParameterizedTest
  @ValueSource(strings = {"fault", "uffd", "soft-dirty", "cards"})
  void theHarvestReportsExactlyThePagesWrittenAndThenNothing(String strategy) {
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    WriteBarrierExample.Outcome o =
        WriteBarrierExample.run(List.of(strategy), new PrintStream(text, true, StandardCharsets.UTF_8)).get(0);
    String printed = text.toString(StandardCharsets.UTF_8);
    System.out.print(printed);
    if (o.skipped() != null) {
      assertEquals(strategy + ": SKIPPED (" + o.skipped() + ")\n", printed, "the reason is printed");
      Assumptions.abort(strategy + " is not available here: " + o.skipped());
    }
    assertNull(o.skipped());
    assertEquals(WriteBarrierExample.pages(WriteBarrierExample.WRITTEN), o.firstHarvest(), "the pages written, no others");
    assertTrue(o.secondHarvest().isEmpty(), "re-armed, and nothing written since: " + o.secondHarvest());
    assertTrue(o.dataIntact(), "the collector reads through the alias what the mutator wrote");
    assertTrue(printed.startsWith(strategy + ": wrote pages {1, 5, 6, 12}, first harvest {1, 5, 6, 12}"), printed);
    assertTrue(printed.contains("second harvest {}, data intact"), printed);
  }

  @Test
  void mainRunsEveryStrategyAndNamesTheReasonForEachOneItSkips() {
    PrintStream saved = System.out;
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    System.setOut(new PrintStream(text, true, StandardCharsets.UTF_8));
    try {
      WriteBarrierExample.main(new String[0]);
    } finally {
      System.setOut(saved);
    }
    String printed = text.toString(StandardCharsets.UTF_8);
    System.out.print(printed);
    List<String> lines = printed.lines().toList();
    assertEquals(4, lines.size(), printed);
    String[] names = {"fault", "uffd", "soft-dirty", "cards"};
    for (int i = 0; i < names.length; i++) {
      String line = lines.get(i);
      assertTrue(line.startsWith(names[i] + ": "), line);
      if (line.contains("SKIPPED")) {
        assertTrue(line.matches(".*SKIPPED \\(.+\\)"), "a skip names its reason: " + line);
      } else {
        assertTrue(line.startsWith(names[i] + ": wrote pages {1, 5, 6, 12}, first harvest {1, 5, 6, 12} "), line);
        assertTrue(line.endsWith("second harvest {}, data intact"), line);
      }
    }
    assertFalse(lines.get(3).contains("SKIPPED"), "card marking works everywhere");
    assertFalse(lines.get(0).contains("SKIPPED"), "the fault path works on Linux");
  }
}
