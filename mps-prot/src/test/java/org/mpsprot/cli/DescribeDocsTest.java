package org.mpsprot.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mpsprot.Prot;

/**
 * docs/barriers.md .picture shows what {@code describe --svg docs/img} prints and writes: the
 * text of every step and every SVG are the command's, region addresses aside (they differ from
 * run to run). Fails when the renderer or the cycle changes and the docs were not regenerated.
 */
class DescribeDocsTest {
  private static final Path DOCS = Path.of("..", "docs");

  private static String masked(String s) {
    return s.replaceAll("0x[0-9a-f]+", "0x?");
  }

  @Test
  void theDocsPicturesAreWhatDescribePrintsAndWrites(@TempDir Path dir) throws Exception {
    // The docs were made with 4 KiB pages (the figures name 4096 bytes).
    org.junit.jupiter.api.Assumptions.assumeTrue(Prot.setup().granularity() == 4096, "4 KiB pages");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int status = Main.run(new String[] {"describe", "--svg", dir.toString()},
        new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
    assertEquals(0, status);
    String printed = masked(out.toString(StandardCharsets.UTF_8));
    String doc = Files.readString(DOCS.resolve("barriers.md"));
    Matcher m = Pattern.compile("```\n(step \\d, [^\n]*\n(?:[^`][^\n]*\n)*?)```").matcher(doc);
    int blocks = 0;
    while (m.find()) {
      blocks++;
      assertTrue(printed.contains(masked(m.group(1))), "docs/barriers.md shows\n" + m.group(1)
          + "which describe no longer prints:\n" + printed);
    }
    assertEquals(Describe.STEPS.size(), blocks, "one text block per step in docs/barriers.md");
    for (int k = 0; k < Describe.STEPS.size(); k++) {
      String name = "harvest-" + (k + 1) + "-" + Describe.STEPS.get(k) + ".svg";
      assertTrue(doc.contains("(img/" + name + ")"), "docs/barriers.md shows " + name);
      assertEquals(masked(Files.readString(dir.resolve(name))), masked(Files.readString(DOCS.resolve("img").resolve(name))),
          "docs/img/" + name + " is what `describe --svg docs/img` writes");
    }
  }
}
