package org.mpsprot.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.mpsprot.Prot;

class MainTest {
  private static String[] run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new String[] {String.valueOf(status), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
  }

  @Test
  void infoPrintsThePlatformFacts() {
    String[] r = run("info");
    assertEquals("0", r[0], r[2]);
    String out = r[1];
    assertTrue(out.contains("platform          linux-"), out);
    assertTrue(out.contains("kernel            Linux "), out);
    assertTrue(out.contains("page size         " + Prot.setup().granularity() + " bytes"), out);
    assertTrue(out.contains(System.getProperty("java.runtime.version")), out);
    assertTrue(out.contains("handler installed " + (Prot.setup().handlerInstalled() ? "yes" : "no")), out);
    assertTrue(out.matches("(?s).*userfaultfd write-protect\\s+(available|unavailable) .*"), out);
    assertTrue(out.matches("(?s).*soft-dirty\\s+(available|unavailable) .*"), out);
  }

  @Test
  void demoRunsAVerifiedCollection() {
    String[] r = run("demo", "--depth", "6", "--strategy", "cards");
    assertEquals("0", r[0], r[1] + r[2]);
    assertTrue(r[1].contains("cards"), r[1]);
    assertTrue(r[1].contains("yes"), "verified: " + r[1]);
  }

  @Test
  void primitivesPrintsOneJsonObjectWithCBaselines() {
    String[] r = run("primitives", "--repetitions", "1", "--pages", "16", "--json");
    assertEquals("0", r[0], r[2]);
    String json = r[1].trim();
    assertTrue(json.startsWith("{\"page_size\": " + Prot.setup().granularity() + ", \"results\": ["), json);
    for (String name : new String[] {"prot1", "prot1_merged", "unprot", "protn_per_page", "map2",
        "trap_unprot", "handoff"}) {
      assertTrue(json.matches("(?s).*\\{\"name\": \"" + name + "\", \"java_ns\": [0-9.]+, [^}]*\"c_ns\": [0-9.]+, \"ratio\": [0-9.]+,.*"),
          name + " has a C baseline and a ratio: " + json);
    }
    // The same loops in C inside this JVM (.primitives.inproc), and the busy-core rows.
    for (String name : new String[] {"prot1", "prot1_merged", "unprot", "same_mode", "trap_unprot",
        "prot1_busy", "unprot_busy"}) {
      assertTrue(json.matches("(?s).*\\{\"name\": \"" + name + "\", [^}]*\"c_inproc_ns\": [0-9.]+,"
          + " \"ratio_inproc\": [0-9.]+, \"backend\": \"(jna|ffm)\"\\}.*"), name + " in-process C: " + json);
    }
    assertTrue(json.matches("(?s).*\"name\": \"step_load\", [^}]*\"c_ns\": null, \"ratio\": null.*"), json);
    assertTrue(json.contains("\"name\": \"dirty_first_write_fault\""), json);
  }

  @Test
  void primitivesWithEveryBackendHasRowsPerBackend() {
    String[] r = run("primitives", "--repetitions", "1", "--pages", "8", "--json", "--backend", "all");
    assertEquals("0", r[0], r[2]);
    String json = r[1];
    assertTrue(json.contains("\"name\": \"prot1\", ") && json.matches("(?s).*\"backend\": \"jna\".*"), json);
    boolean ffm = Runtime.version().feature() >= 22;
    assertEquals(ffm, json.contains("\"backend\": \"ffm\""), json);
  }

  @Test
  void unknownCommandsFailWithUsage() {
    String[] r = run("frobnicate");
    assertEquals("2", r[0]);
    assertTrue(r[2].contains("unknown command 'frobnicate'"), r[2]);
    assertTrue(r[2].contains("usage:"), r[2]);
  }
}
