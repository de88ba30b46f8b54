package org.mpsprot.os;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * docs/design/os.md .backend: the backend the process runs on is the one this JDK and the
 * property ask for, and a JDK 22+ without native access says which flag to pass and uses JNA.
 */
class BackendSelectionTest {
  @Test
  void theBackendIsTheOneThisJdkAndThePropertyAskFor() {
    NativeBackend b = NativeBackend.current();
    String asked = System.getProperty(NativeBackend.PROPERTY, "auto");
    NativeBackend.Kind expected = asked.equals("jna") || Runtime.version().feature() < 22
        ? NativeBackend.Kind.JNA : NativeBackend.Kind.FFM;
    assertEquals(expected, b.kind(), "backend " + b);
    // The OS seam really calls through it.
    assertEquals(expected == NativeBackend.Kind.FFM ? "FfmShimCalls" : "JnaShimCalls",
        b.calls().getClass().getSimpleName());
    if (Runtime.version().feature() < 22) {
      assertTrue(b.detail().contains("JDK " + Runtime.version().feature()), b.detail());
    }
  }

  /** The info command of a child JVM started without --enable-native-access. */
  private static String infoWithoutNativeAccess(String... props) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(List.of(props));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("org.mpsprot.cli.Main");
    cmd.add("info");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "info did not end");
    return out;
  }

  @Test
  void withoutNativeAccessTheModuleSaysWhichFlagToPassAndUsesJna() throws Exception {
    assumeTrue(Runtime.version().feature() >= 22, "FFM needs JDK 22+");
    String out = infoWithoutNativeAccess();
    assertTrue(out.contains("backend           jna"), out);
    assertTrue(out.contains("--enable-native-access=ALL-UNNAMED"), out);
    String forced = infoWithoutNativeAccess("-Dmpsprot.backend=ffm");
    assertTrue(forced.contains("-Dmpsprot.backend=ffm asked for the FFM backend, but native access"
        + " is not enabled"), forced);
  }
}
