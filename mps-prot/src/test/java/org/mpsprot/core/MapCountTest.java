package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.mpsprot.testing.ChildJvm;
import org.mpsprot.testing.Emulation;

/** vm.max_map_count exhaustion is reported as exactly that, and nothing is left half-applied. */
class MapCountTest {
  @Test
  void exhaustionIsReportedWithCountsAndTheSysctlAndTheRecordStaysTrue() throws Exception {
    Emulation.skip("MapCountTest", "qemu-user itself livelocks at the vm.max_map_count limit (its own"
        + " mappings fail there), so the child never reports; the limit is tested natively");
    ChildJvm.Result out = ChildJvm.run(MapCountChild.class, 120,
        List.of("-Xms128m", "-Xmx128m", "-XX:+AlwaysPreTouch", "-XX:TieredStopAtLevel=1"));
    assertEquals(0, out.exit(), out.output());
    String message = out.line("MESSAGE");
    assertTrue(message.contains("vm.max_map_count"), message);
    assertTrue(message.contains("sysctl -w vm.max_map_count="), message);
    assertTrue(message.contains("ENOMEM"), message);
    String[] counts = out.line("COUNTS").split(" ");
    long mapCount = Long.parseLong(counts[0]);
    long max = Long.parseLong(counts[1]);
    assertEquals("ENOMEM", counts[2]);
    // A split refuses at the limit (mm/vma.c): counted as the kernel counts, never above it.
    assertTrue(mapCount >= max - 8 && mapCount <= max, "count " + mapCount + " near max " + max);
    assertTrue(message.contains(mapCount + " mappings"), message);
    assertEquals("clean", out.line("SYNC"), "after the failure the record equals the OS");
    String reserve = out.line("RESERVE");
    assertTrue(reserve.startsWith("reserve(") && reserve.contains("vm.max_map_count"), reserve);
    assertTrue(reserve.contains("fewer regions") && reserve.contains("sysctl -w vm.max_map_count="),
        "a reserve at the limit advises fewer regions or a higher limit: " + reserve);
    assertTrue(!reserve.contains("runs") && !reserve.contains("Prot.batch"),
        "a reserve at the limit does not advise protecting in fewer runs: " + reserve);
    assertTrue(Long.parseLong(out.line("CLOSED")) < 10_000, "close gave the mappings back");
  }

  /**
   * {@code MapCountExhaustedException.mapCount()} counts what the kernel counts against
   * {@code maxMapCount()}: the lines of /proc/self/maps less the [vsyscall] page (once reported as
   * 65531 of 65530).
   */
  @Test
  void mapCountLeavesOutTheVsyscallPageTheKernelDoesNotCount() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        System.getProperty("os.name").startsWith("Linux"), "Linux only");
    List<String> lines = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/maps"));
    long vsyscall = lines.stream().filter(l -> l.endsWith("[vsyscall]")).count();
    org.junit.jupiter.api.Assumptions.assumeTrue(vsyscall == 1,
        "this kernel lists no [vsyscall] page, so both counts agree anyway");
    long counted = org.mpsprot.os.linux.LinuxProtOs.mapCount();
    List<String> again = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/maps"));
    // Other threads of the JVM may map meanwhile: the count lies between the two readings, less one.
    long low = Math.min(lines.size(), again.size()) - 1;
    long high = Math.max(lines.size(), again.size()) - 1;
    assertTrue(counted >= low - 4 && counted <= high,
        "mapCount() " + counted + " is the lines of /proc/self/maps (" + lines.size() + ", then "
            + again.size() + ") less the [vsyscall] line");
  }
}
