package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** vm.max_map_count exhaustion is reported as exactly that, and nothing is left half-applied. */
class MapCountTest {
  /** Runs {@code main} in a child JVM with this test's class path; returns its output lines. */
  static List<String> runChild(Class<?> main, String... jvmFlags) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(List.of(jvmFlags));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(main.getName());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("child " + main.getName() + " did not finish in 120 s");
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), "child exit status; output:\n" + out);
    return out.lines().toList();
  }

  private static String line(List<String> lines, String tag) {
    return lines.stream().filter(l -> l.startsWith(tag + " ")).findFirst()
        .orElseThrow(() -> new AssertionError("no " + tag + " line in:\n" + String.join("\n", lines)))
        .substring(tag.length() + 1);
  }

  @Test
  void exhaustionIsReportedWithCountsAndTheSysctlAndTheRecordStaysTrue() throws Exception {
    List<String> out = runChild(MapCountChild.class, "-Xms128m", "-Xmx128m", "-XX:+AlwaysPreTouch",
        "-XX:TieredStopAtLevel=1");
    String message = line(out, "MESSAGE");
    assertTrue(message.contains("vm.max_map_count"), message);
    assertTrue(message.contains("sysctl -w vm.max_map_count="), message);
    assertTrue(message.contains("ENOMEM"), message);
    String[] counts = line(out, "COUNTS").split(" ");
    long mapCount = Long.parseLong(counts[0]);
    long max = Long.parseLong(counts[1]);
    assertEquals("ENOMEM", counts[2]);
    // /proc/self/maps lists [vsyscall], which the kernel does not count against the limit.
    assertTrue(mapCount >= max - 8 && mapCount <= max + 1, "count " + mapCount + " near max " + max);
    assertTrue(message.contains(mapCount + " mappings"), message);
    assertEquals("clean", line(out, "SYNC"), "after the failure the record equals the OS");
    assertTrue(Long.parseLong(line(out, "CLOSED")) < 10_000, "close gave the mappings back");
  }
}
