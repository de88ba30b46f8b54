package org.mpsprot.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class in a child JVM with the test's class path, for behaviour that must not run in
 * the test JVM itself: crashes, aborts, mapping exhaustion, and anything that could hang (the
 * child is killed with SIGKILL at the deadline, which works even when a hung JVM ignores
 * SIGTERM, and the test fails instead of hanging).
 */
public final class ChildJvm {
  /** The child's exit status (128 + signal when killed by one) and its merged output. */
  public record Result(int exit, String output, boolean timedOut) {
    public List<String> lines() {
      return output.lines().toList();
    }

    /** The rest of the first line starting with {@code tag + " "}. */
    public String line(String tag) {
      return lines().stream().filter(l -> l.startsWith(tag + " ")).findFirst()
          .orElseThrow(() -> new AssertionError("no " + tag + " line in:\n" + output))
          .substring(tag.length() + 1);
    }
  }

  private ChildJvm() {}

  public static Result run(Class<?> main, long timeoutSeconds, List<String> jvmFlags, String... args)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    // -Dmpsprot.child.java: the java command when java.home's cannot be executed directly (an
    // aarch64 JDK under qemu-user without binfmt_misc: mps-prot/scripts/aarch64-java.sh).
    cmd.add(System.getProperty("mpsprot.child.java", Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    String flags = System.getProperty("mpsprot.child.flags", "");
    if (Runtime.version().feature() >= 22) {
      cmd.add("--enable-native-access=ALL-UNNAMED");
    }
    String backend = System.getProperty("mpsprot.backend");
    if (backend != null) {
      cmd.add("-Dmpsprot.backend=" + backend); // the child runs on the parent's backend
    }
    if (!flags.isBlank()) {
      cmd.addAll(List.of(flags.trim().split("\\s+")));
    }
    cmd.addAll(jvmFlags);
    cmd.add("-XX:-CreateCoredumpOnCrash");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(main.getName());
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile("mpsprot-child", ".out");
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile())
          .directory(Files.createTempDirectory("mpsprot-child").toFile()).start();
      boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
      if (!done) {
        p.destroyForcibly().waitFor();
      }
      return new Result(done ? p.exitValue() : -1, Files.readString(out, StandardCharsets.UTF_8), !done);
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
