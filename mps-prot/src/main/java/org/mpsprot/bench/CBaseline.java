package org.mpsprot.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the plain-C primitives program that mps-prot-native builds and the jar carries under
 * JNA's resource prefix ({@code linux-x86-64/mpsprot-primitives}): extracted to a temporary
 * file, run with the same repetitions and pages as the Java side, its lines parsed.
 */
final class CBaseline {
  /** Median, min and max ns per operation of one C primitive. */
  record Figure(double median, double min, double max) {}

  private CBaseline() {}

  static Map<String, Figure> run(int repetitions, long pages) throws IOException, InterruptedException {
    String resource = com.sun.jna.Platform.RESOURCE_PREFIX + "/mpsprot-primitives";
    Path exe = Files.createTempFile("mpsprot-primitives", "");
    try {
      try (InputStream in = CBaseline.class.getClassLoader().getResourceAsStream(resource)) {
        if (in == null) {
          throw new IOException("the C baseline " + resource + " is not in the jar; rebuild with mvn package");
        }
        Files.copy(in, exe, StandardCopyOption.REPLACE_EXISTING);
      }
      if (!exe.toFile().setExecutable(true)) {
        throw new IOException("cannot make " + exe + " executable");
      }
      Process p = new ProcessBuilder(exe.toString(), String.valueOf(repetitions), String.valueOf(pages))
          .redirectError(ProcessBuilder.Redirect.INHERIT).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
        throw new IOException("the C baseline failed (exit " + p.exitValue() + "): " + out);
      }
      Map<String, Figure> figures = new HashMap<>();
      for (String line : out.split("\n")) {
        String[] f = line.trim().split(" ");
        if (f.length == 4) {
          figures.put(f[0], new Figure(Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3])));
        }
      }
      return figures;
    } finally {
      Files.deleteIfExists(exe);
    }
  }
}
