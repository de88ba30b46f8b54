package org.mpsprot.os.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mpsprot.os.ProtOs.Mapping;

/**
 * Reads /proc/self/maps: {@code start-end perms offset dev inode path}, one mapping a line,
 * sorted by address (proc(5)). Only the range and the first three permission letters are
 * kept.
 */
final class ProcMaps {
  private static final Path MAPS = Path.of("/proc/self/maps");

  private ProcMaps() {}

  static List<Mapping> read() {
    List<String> lines;
    try {
      lines = Files.readAllLines(MAPS);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + MAPS + " to verify protections", e);
    }
    List<Mapping> out = new ArrayList<>(lines.size());
    for (String line : lines) {
      out.add(parse(line));
    }
    return out;
  }

  /** One line of /proc/self/maps. */
  static Mapping parse(String line) {
    int dash = line.indexOf('-');
    int space = line.indexOf(' ', dash);
    if (dash <= 0 || space < 0 || line.length() < space + 4) {
      throw new IllegalArgumentException("not a /proc/self/maps line: " + line);
    }
    long start = Long.parseUnsignedLong(line, 0, dash, 16);
    long end = Long.parseUnsignedLong(line, dash + 1, space, 16);
    return new Mapping(
        start, end,
        line.charAt(space + 1) == 'r',
        line.charAt(space + 2) == 'w',
        line.charAt(space + 3) == 'x');
  }

  /**
   * The number of mappings the kernel counts against {@code vm.max_map_count}: the lines of
   * /proc/self/maps less the {@code [vsyscall]} page, which the kernel lists there but does not
   * count (it is not one of the process's mappings but a fixed page of the kernel, "gate VMA").
   */
  static long count() {
    try (var lines = Files.lines(MAPS)) {
      return lines.filter(l -> !l.endsWith("[vsyscall]")).count();
    } catch (IOException e) {
      return -1;
    }
  }
}
