package org.mpsprot.barrier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * Writes made by the kernel into a tracked page (.tracker.syscall): read(2) from a pipe into a
 * buffer on a tracked page, per strategy. Found on Linux 6.18 and pinned here:
 * <ul>
 *   <li>fault: the kernel's copy to the write-protected page fails, read returns -1 with EFAULT
 *       (no signal is delivered), nothing is written, and the pipe keeps its bytes;
 *   <li>uffd: the kernel resolves its own write-protect fault as it does the mutator's; read
 *       succeeds and the page is reported dirty;
 *   <li>cards: read succeeds and the write is <em>silently missed</em>: no store path ran;
 *   <li>soft-dirty: unavailable here (its reason is checked).
 * </ul>
 * With {@link Tracker#prepareForSyscall} first, the read succeeds and the granule is reported
 * under every strategy.
 */
class KernelWriteTest {
  private static final byte[] BYTES = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

  /** What read(2) into a tracked page does without preparation: the documented outcome. */
  private static String expectedUnprepared(String strategy) {
    switch (strategy) {
      case "fault": return "EFAULT";
      case "uffd": return "reported";
      case "cards": return "missed";
      default: throw new AssertionError("no documented outcome for " + strategy);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"fault", "uffd", "soft-dirty", "cards"})
  void readIntoATrackedPageIsReportedOrRefusedAsDocumented(String name) throws Exception {
    WriteBarrierStrategy s = Strategies.byName(name);
    Prot prot = Prot.setup();
    long page = prot.granularity();
    try (Region r = prot.reserve(4 * page)) {
      if (!s.availability().available()) {
        assertFalse(s.availability().reason().isBlank());
        assertThrows(StrategyUnavailableException.class, () -> s.attach(r));
        return;
      }
      try (Tracker t = s.attach(r)) {
        t.harvest();
        long buffer = r.base() + page + 24;
        int granule = (int) ((buffer - r.base()) / t.granule());
        assertEquals(expectedUnprepared(name), readInto(t, r, buffer, false, granule));
        assertEquals("reported", readInto(t, r, buffer + 16, true, (int) ((buffer + 16 - r.base()) / t.granule())));
      }
    }
  }

  /** read(2) of 16 bytes into address: "EFAULT", "reported" or "missed". */
  private static String readInto(Tracker t, Region r, long address, boolean prepare, int granule) throws Exception {
    int[] fds = new int[2];
    Syscalls.pipe(fds);
    try {
      Syscalls.write(fds[1], BYTES, BYTES.length);
      long n;
      if (prepare) {
        try (Tracker.SyscallWindow w = t.prepareForSyscall(address, BYTES.length)) {
          n = Syscalls.readInto(fds[0], address, BYTES.length);
        }
      } else {
        n = Syscalls.readInto(fds[0], address, BYTES.length);
      }
      BitSet dirty = t.harvest();
      if (n == -Syscalls.EFAULT) {
        assertEquals(0, r.alias().get((int) (address - r.base())), "nothing was written");
        return "EFAULT";
      }
      assertEquals(BYTES.length, n, "read(2) returned " + n);
      assertEquals(BYTES[0], r.alias().get((int) (address - r.base())), "the kernel wrote the bytes");
      return dirty.get(granule) ? "reported" : "missed";
    } finally {
      Syscalls.close(fds[0]);
      Syscalls.close(fds[1]);
    }
  }
}
