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
  void unknownCommandsFailWithUsage() {
    String[] r = run("frobnicate");
    assertEquals("2", r[0]);
    assertTrue(r[2].contains("unknown command 'frobnicate'"), r[2]);
    assertTrue(r[2].contains("usage:"), r[2]);
  }
}
