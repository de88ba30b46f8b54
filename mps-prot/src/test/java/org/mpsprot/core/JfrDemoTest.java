package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.mpsprot.Prot;
import org.mpsprot.cli.Main;
import org.mpsprot.testing.ChildJvm;

/**
 * docs/design/fault.md .jfr.demo: the README's recording, made the same way: a child JVM runs
 * {@code demo} (small: depth 6, the fault and read-barrier strategies) with
 * {@code -XX:StartFlightRecording:filename=...,settings=mps-prot.jfc} (the jar's copy), and
 * {@code jfr print --events org.mpsprot.*} shows the module's events.
 */
class JfrDemoTest {
  @Test
  void aRecordingOfTheDemoShowsTheEventsInJfrPrint() throws Exception {
    Path jfr = Path.of(System.getProperty("java.home"), "bin", "jfr");
    assumeTrue(Files.isExecutable(jfr), "no jfr tool in " + jfr.getParent());
    Path dir = Files.createTempDirectory("mpsprot-jfr");
    Path settings = dir.resolve("mps-prot.jfc");
    Path file = dir.resolve("demo.jfr");
    try {
      try (InputStream in = Prot.class.getResourceAsStream("mps-prot.jfc")) {
        Files.write(settings, in.readAllBytes());
      }
      ChildJvm.Result r = ChildJvm.run(Main.class, 180,
          List.of("-XX:StartFlightRecording:filename=" + file + ",settings=" + settings),
          "demo", "--depth", "6", "--strategy", "fault,read-barrier");
      assertEquals(0, r.exit(), r.output());
      assertTrue(Files.size(file) > 0, r.output());
      Process p = new ProcessBuilder(jfr.toString(), "print", "--events", "org.mpsprot.*", file.toString())
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(p.waitFor(120, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), out);
      for (String event : List.of("ProtSet", "Fault", "FaultRing", "Handoff", "Harvest", "RegionReserve",
          "RegionClose")) {
        assertTrue(out.contains("org.mpsprot." + event + " {"), event + " in jfr print's output");
      }
      assertTrue(out.contains("resolution = \"unprotected\""), "the write barrier's faults");
      assertTrue(out.contains("resolution = \"handed off\""), "the read barrier's faults");
      assertTrue(out.contains("outcome = \"resumed\""), "the read barrier's handoffs");
      assertFalse(out.contains("jdk.CPULoad"), "only the module's events are selected");
    } finally {
      Files.deleteIfExists(settings);
      Files.deleteIfExists(file);
      Files.deleteIfExists(dir);
    }
  }
}
