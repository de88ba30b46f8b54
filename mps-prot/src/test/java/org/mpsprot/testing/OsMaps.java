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
    return perms(address, 1, 1)[0];
  }

  /**
   * The permissions of each unit of [base, base + count * unit), in one read of the file
   * ("unmapped" where no mapping covers it).
   */
  public static String[] perms(long base, long count, long unit) {
    String[] out = new String[(int) count];
    java.util.Arrays.fill(out, "unmapped");
    long end = base + count * unit;
    try (BufferedReader in = new BufferedReader(new FileReader("/proc/self/maps"))) {
      for (String line; (line = in.readLine()) != null; ) {
        String[] f = line.split(" ", 3);
        String[] range = f[0].split("-");
        long lo = Long.parseUnsignedLong(range[0], 16);
        long hi = Long.parseUnsignedLong(range[1], 16);
        if (Long.compareUnsigned(hi, base) <= 0 || Long.compareUnsigned(lo, end) >= 0) {
          continue;
        }
        long from = Long.compareUnsigned(lo, base) > 0 ? (lo - base) / unit : 0;
        long to = Long.compareUnsigned(hi, end) < 0 ? (hi - base + unit - 1) / unit : count;
        for (long i = from; i < to; i++) {
          out[(int) i] = f[1].substring(0, 3);
        }
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
