package org.mpsprot.testing;

import java.io.BufferedReader;
import java.io.FileReader;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The tests' own reader of /proc/self/maps, independent of the module's, used as the oracle
 * for what the OS really applied.
 */
public final class OsMaps {
  private OsMaps() {}

  /** "rw-", "r--", "---" (and 'x' if executable) of the page at address, or "unmapped". */
  public static String perms(long address) {
    try (BufferedReader in = new BufferedReader(new FileReader("/proc/self/maps"))) {
      for (String line; (line = in.readLine()) != null; ) {
        String[] f = line.split(" ", 3);
        String[] range = f[0].split("-");
        long lo = Long.parseUnsignedLong(range[0], 16);
        long hi = Long.parseUnsignedLong(range[1], 16);
        if (Long.compareUnsigned(address, lo) >= 0 && Long.compareUnsigned(address, hi) < 0) {
          return f[1].substring(0, 3);
        }
      }
      return "unmapped";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The permissions of each page of [base, base + pages * pageSize), in one read of the file. */
  public static String[] perms(long base, long pages, long pageSize) {
    String[] out = new String[(int) pages];
    java.util.Arrays.fill(out, "unmapped");
    try (BufferedReader in = new BufferedReader(new FileReader("/proc/self/maps"))) {
      for (String line; (line = in.readLine()) != null; ) {
        String[] f = line.split(" ", 3);
        String[] range = f[0].split("-");
        long lo = Long.parseUnsignedLong(range[0], 16);
        long hi = Long.parseUnsignedLong(range[1], 16);
        long end = base + pages * pageSize;
        if (hi <= base || lo >= end) {
          continue;
        }
        for (long a = Math.max(lo, base); a < Math.min(hi, end); a += pageSize) {
          out[(int) ((a - base) / pageSize)] = f[1].substring(0, 3);
        }
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
