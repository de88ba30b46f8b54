package org.mpsprot.step;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.mpsprot.testing.ChildJvm;

/**
 * Stepping end to end from Java on x86-64 Linux (issue 12, docs/design/step.md .test.e2e.jit):
 * the {@link JitWorkloads} (float/double loops, VarHandle and Unsafe atomics, bulk copies, and
 * MemorySegment on JDK 22+) run in a child JVM in the interpreter, under C1 only and under C2
 * only, over a STEP region whose pages are no-access. Each prints the fraction of its faults
 * that stepped; every fault must step (the checksum and the memory equal an unprotected run,
 * the pages stay protected) except where a form docs/design/step.md lists as refused is
 * named below ({@link #REFUSED}), which is then printed.
 */
@EnabledOnOs(value = OS.LINUX, architectures = {"amd64", "x86_64"})
class StepJitEndToEndTest {
  /**
   * Workloads and modes whose faults may fall back to unprotect, and the refused form that
   * makes them (key: "workload mode"). The rest must step 100%. Empty: since the EVEX moves
   * step (masked ones too), the bulk copies of HotSpot's AVX-512 arraycopy stubs step every
   * fault like the rest.
   */
  static final Map<String, String> REFUSED = Map.of();

  @Test
  void interpretedWorkloadsStep() throws Exception {
    check("interpreter", List.of("-Xint"), "cold");
  }

  @Test
  void c1CompiledWorkloadsStep() throws Exception {
    check("c1", List.of("-XX:TieredStopAtLevel=1", "-Xbatch"), "warm");
  }

  @Test
  void c2CompiledWorkloadsStep() throws Exception {
    check("c2", List.of("-XX:-TieredCompilation", "-Xbatch"), "warm");
  }

  /** Without AVX-512 (UseAVX=2) HotSpot copies with VEX moves instead of EVEX ones: both must
   * step every fault. */
  @Test
  void c2CompiledWorkloadsStepWithoutAvx512() throws Exception {
    check("c2-avx2", List.of("-XX:-TieredCompilation", "-Xbatch", "-XX:UseAVX=2"), "warm");
  }

  private static void check(String mode, List<String> modeFlags, String warm) throws Exception {
    List<String> flags = new ArrayList<>(List.of("-Xmx256m"));
    flags.addAll(modeFlags);
    int feature = Runtime.version().feature();
    if (feature >= 23) {
      flags.add("--sun-misc-unsafe-memory-access=allow");
    }
    List<String> args = new ArrayList<>(List.of(mode, warm));
    Path segments = segmentWorkload();
    if (segments != null) {
      args.add(segments.toString());
    } else {
      System.out.println("StepJitEndToEndTest: MemorySegment skipped on JDK " + feature
          + " (java.lang.foreign is final from JDK 22)");
    }
    ChildJvm.Result r = ChildJvm.run(StepJitChild.class, 600, flags, args.toArray(String[]::new));
    assertFalse(r.timedOut(), r.output());
    assertEquals(0, r.exit(), r.output());
    assertEquals("ok", r.line("DONE"), r.output());
    List<String> failures = new ArrayList<>();
    for (String line : r.lines()) {
      if (!line.startsWith("RESULT ")) {
        continue;
      }
      Map<String, String> f = fields(line);
      String name = f.get("name");
      long faults = Long.parseLong(f.get("faults"));
      long stepped = Long.parseLong(f.get("stepped"));
      long unprot = Long.parseLong(f.get("unprotected"));
      String key = name + " " + mode;
      String refused = REFUSED.get(key);
      System.out.printf("StepJitEndToEndTest: JDK %d %-11s %-18s %6d of %6d faults stepped (%.2f%%)%s%n",
          feature, mode, name, stepped, faults, faults == 0 ? 0.0 : 100.0 * stepped / faults,
          unprot == 0 ? "" : ", " + unprot + " unprotected"
              + (refused == null ? "" : ": refused form (docs/design/step.md): " + refused));
      assertEquals("true", f.get("same"), key + ": the checksum equals unprotected execution: " + line);
      assertEquals("true", f.get("memory"), key + ": the memory equals unprotected execution: " + line);
      assertTrue(faults > 0, key + ": the workload touched the protected pages: " + line);
      assertEquals(stepped + unprot, faults, key + ": every fault stepped or unprotected: " + line);
      assertEquals("0", f.get("logfull"), key + ": the log never filled: " + line);
      assertEquals(stepped, Long.parseLong(f.get("logged")), key + ": every step is logged: " + line);
      if (unprot != 0 && refused == null) {
        failures.add(line);
      }
      if (unprot == 0) {
        assertEquals("---,---,---,---", f.get("perms"), key + ": the pages stay protected");
      }
    }
    assertTrue(failures.isEmpty(), "faults that fell back to unprotect in " + mode + ":\n"
        + String.join("\n", failures));
  }

  private static Map<String, String> fields(String line) {
    String[] w = line.split(" ");
    Map<String, String> m = new LinkedHashMap<>();
    m.put("name", w[1]);
    for (int i = 2; i < w.length; i++) {
      int eq = w[i].indexOf('=');
      m.put(w[i].substring(0, eq), w[i].substring(eq + 1));
    }
    return m;
  }

  /** The SegmentWorkload class compiled into a temporary directory, on JDK 22+; else null. */
  private static Path segmentWorkload() throws IOException {
    if (Runtime.version().feature() < 22) {
      return null;
    }
    Path dir = Files.createTempDirectory("mpsprot-segment");
    Path src = dir.resolve("SegmentWorkload.java");
    Files.writeString(src, JitWorkloads.SEGMENT_SOURCE);
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    int rc = javac.run(null, null, null, "-d", dir.toString(), "-cp",
        System.getProperty("java.class.path"), src.toString());
    assertEquals(0, rc, "javac SegmentWorkload");
    return dir;
  }
}
