package org.mpsprot.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * JUnit 5 stays optional (issue 14): the harness runs in a JVM whose class path holds only the
 * module's and the tests' classes, no JUnit jar; and with the per-property seed of another
 * property set, this one is not replayed.
 */
class HarnessWithoutJunitTest {
  @Test
  void theHarnessRunsWithoutJunitOnTheClassPath() throws Exception {
    String cp = Path.of("target/classes").toAbsolutePath() + File.pathSeparator
        + Path.of("target/test-classes").toAbsolutePath();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (entry.contains("junit") && Path.of(entry).getFileName().toString().endsWith(".jar")) {
        assertTrue(!cp.contains(entry), "JUnit is not on the child's class path");
      }
    }
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", cp, "-Dmpsprot.check.seed.ints=5", NoJunitMain.class.getName())
        .redirectErrorStream(true).start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child finished");
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("property ints: 1 values"), "ints replayed its own seed: " + out);
    assertTrue(out.contains("harness without JUnit: 10 sequences, replay false"), out);
    assertTrue(List.of(out.split("\n")).stream().noneMatch(l -> l.contains("NoClassDefFoundError")), out);
  }
}
