package org.mpsprot.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mpsprot.barrier.Strategies;
import org.mpsprot.barrier.WriteBarrierStrategy;

/** {@code demo}: the table, the JSON, the exit status, the unavailable strategies, the figure. */
class DemoTest {
  /** The exit status and what was printed. */
  record Run(int exit, String out, String err) {}

  private static Run demo(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = Demo.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void theTableListsEveryStrategyVerifiedOrWithItsReason() {
    Run r = demo("--depth", "8", "--seed", "3");
    assertEquals(0, r.exit(), r.out() + r.err());
    assertTrue(r.out().contains("collections") && r.out().contains("barrier hits") && r.out().contains("pages scanned")
        && r.out().contains("mutator ms") && r.out().contains("collector ms") && r.out().contains("verified"), r.out());
    for (WriteBarrierStrategy s : Strategies.all()) {
      String row = r.out().lines().filter(l -> l.startsWith(s.name() + " ")).findFirst().orElseThrow(
          () -> new AssertionError("no row for " + s.name() + " in:\n" + r.out()));
      if (s.availability().available()) {
        assertTrue(row.contains("yes ("), row);
      } else {
        assertTrue(row.contains("unavailable: " + s.availability().reason()), row);
      }
    }
    assertTrue(r.out().lines().anyMatch(l -> l.startsWith("read-barrier ") && l.contains("yes (")), r.out());
    assertTrue(r.out().contains("[fault] 64 trees of depth 6"), "progress lines: " + r.out());
  }

  @Test
  void jsonIsOneObjectWithEveryResult() {
    Run r = demo("--depth", "6", "--strategy", "cards,soft-dirty,read-barrier", "--json");
    assertEquals(0, r.exit(), r.err());
    String json = r.out().trim();
    assertTrue(json.startsWith("{\"workload\": {\"depth\": 6") && json.endsWith("]}"), json);
    assertEquals(1, json.lines().count(), "one line");
    assertTrue(json.contains("\"strategy\": \"cards\", \"available\": true"), json);
    assertTrue(json.contains("\"strategy\": \"soft-dirty\", \"available\": "), json);
    assertTrue(json.contains("\"strategy\": \"read-barrier\""), json);
    assertTrue(json.contains("\"verified\": true") && !json.contains("\"verified\": false"), json);
    assertTrue(r.err().contains("[cards]"), "progress goes to stderr: " + r.err());
  }

  @Test
  void aBrokenBarrierMakesTheDemoFail() {
    Run r = demo("--depth", "8", "--strategy", "cards", "--broken");
    assertEquals(1, r.exit(), r.out());
    assertTrue(r.out().contains("FAILED") && r.out().contains("HeapVerificationException"), r.out());
  }

  @Test
  void badOptionsExitWithTwo() {
    assertEquals(2, demo("--depth").exit());
    assertEquals(2, demo("--depth", "99").exit());
    assertEquals(2, demo("--strategy", "nope").exit());
    assertEquals(2, demo("--frobnicate").exit());
    assertEquals(2, demo("--svg", "x.svg").exit(), "--svg needs --costs");
    Run help = demo("--help");
    assertEquals(0, help.exit());
    assertTrue(help.out().contains("--strategy"), help.out());
  }

  @Test
  void costsDrawTheFigure(@TempDir Path dir) throws Exception {
    Path svg = dir.resolve("barriers.svg");
    Run r = demo("--costs", "--cost-pages", "64", "--svg", svg.toString());
    assertEquals(0, r.exit(), r.out() + r.err());
    assertTrue(r.out().contains("hit ns"), r.out());
    String text = Files.readString(svg);
    assertTrue(text.startsWith("<svg") && text.trim().endsWith("</svg>"), text);
    for (WriteBarrierStrategy s : Strategies.all()) {
      assertTrue(text.contains(">" + s.name() + "<"), s.name());
    }
  }

  @Test
  void theDefaultSpacesAreWholePagesAtEveryPageSize() {
    for (long page : new long[] {4096, 16384, 65536}) {
      for (int depth = 4; depth <= 24; depth++) {
        Workload.Params p = Workload.Params.of(depth, 42);
        HeapConfig c = Demo.spacesFor(p, true, page);
        long live = (1L << (depth + 1)) * 5 * ObjectLayout.WORD * 4;
        String at = "depth " + depth + ", " + page + "-byte pages: " + c;
        assertTrue(c.nurseryBytes() >= 4 * page && c.nurseryBytes() <= 512 * page, at);
        // A 64 KiB page once left the read-barrier heap of a small workload 4 pages.
        assertTrue(c.semispaceBytes() >= 16 * page, at);
        assertTrue(c.semispaceBytes() > 2 * live, at);
        assertTrue(c.oldBytes() >= 4 * live + 2 * c.nurseryBytes(), at);
      }
    }
    // At 4 KiB pages the spaces are those the figures in docs/barriers.md were measured with
    // (live data: 2^(depth+1) nodes of 40 bytes, four times).
    long live15 = (1L << 16) * 160;
    assertEquals(new HeapConfig(2L << 20, 4 * live15 + (4L << 20), 3 * live15, true),
        Demo.spacesFor(Workload.Params.of(15, 42), true, 4096));
    assertEquals(new HeapConfig(16 << 10, 32L << 20, 3 * (1L << 9) * 160, true),
        Demo.spacesFor(Workload.Params.of(8, 42), true, 4096));
  }
}
