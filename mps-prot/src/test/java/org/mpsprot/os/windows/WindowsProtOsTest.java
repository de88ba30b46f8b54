package org.mpsprot.os.windows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mpsprot.os.ProtOs.Mapping;

/**
 * The parts of {@link WindowsProtOs} that need no Windows: the C runtime's errno names, the
 * failure messages, and the VirtualQuery walk of {@code mappings()} fed with made-up answers
 * that follow mpsprot_query's contract (the run starts at the queried page and extends forward).
 */
class WindowsProtOsTest {
  private static final long PAGE = 4096;

  @Test
  void errnoNamesAreTheCRuntimes() {
    assertEquals("ENOMEM", WinErrno.name(12));
    assertEquals("EACCES", WinErrno.name(13));
    assertEquals("EBUSY", WinErrno.name(16));
    assertEquals("EINVAL", WinErrno.name(22));
    assertEquals("ENFILE", WinErrno.name(23));
    assertEquals("EMFILE", WinErrno.name(24));
    assertEquals("ENOSYS", WinErrno.name(40), "msvcrt's ENOSYS is 40, Linux's 38");
    assertEquals("EOPNOTSUPP", WinErrno.name(130));
    assertEquals("errno 38", WinErrno.name(38), "38 is ENAMETOOLONG here, not named");
    assertEquals("errno 95", WinErrno.name(95));
  }

  @Test
  void messageNamesErrnoWindowsCodeAndAdvice() {
    String m = WindowsProtOs.message("reserve(4096 bytes): MapViewOfFile of the alias view",
        WinErrno.ENOMEM, 1455, false);
    assertTrue(m.startsWith("reserve(4096 bytes): MapViewOfFile of the alias view failed: ENOMEM"
        + " (Windows error 1455). What to do: "), m);
    assertTrue(m.contains("paging file"), m);
    String none = WindowsProtOs.message("ProtSetup", WinErrno.ENOSYS, 0, false);
    assertFalse(none.contains("Windows error"), none);
    assertTrue(none.contains("Windows 8"), none);
    assertTrue(WindowsProtOs.message("ProtSet", WinErrno.EINVAL, 487, true).contains("no longer mapped"));
    assertTrue(WindowsProtOs.message("x", 99, 5, false).contains("errno 99 (Windows error 5)"));
  }

  /** A made-up address space: runs of {start, end, committed, bits}. */
  private static WindowsProtOs.Query space(long[][] runs, List<Long> asked) {
    return (address, q) -> {
      asked.add(address);
      for (long[] r : runs) {
        if (address >= r[0] && address < r[1]) {
          q[0] = address & -PAGE;
          q[1] = r[1] - q[0];
          q[2] = r[2];
          q[3] = r[3];
          return 0;
        }
      }
      return WinErrno.EINVAL;
    };
  }

  @Test
  void walkListsCommittedRunsClippedToTheView() {
    long b = 0x10000;
    long[][] runs = {
      {0, b + PAGE, 1, 3}, // begins before the view: clipped
      {b + PAGE, b + 3 * PAGE, 1, 1},
      {b + 3 * PAGE, b + 4 * PAGE, 0, 0}, // decommitted by someone else: absent
      {b + 4 * PAGE, b + 5 * PAGE, 1, 0},
      {b + 5 * PAGE, b + 100 * PAGE, 1, 7}, // goes past the view: clipped
    };
    List<Long> asked = new ArrayList<>();
    List<Mapping> out = new ArrayList<>();
    assertEquals(0, WindowsProtOs.walk(space(runs, asked), b, b + 6 * PAGE, out));
    assertEquals(List.of(
        new Mapping(b, b + PAGE, true, true, false),
        new Mapping(b + PAGE, b + 3 * PAGE, true, false, false),
        new Mapping(b + 4 * PAGE, b + 5 * PAGE, false, false, false),
        new Mapping(b + 5 * PAGE, b + 6 * PAGE, true, true, true)), out);
    assertEquals(List.of(b, b + PAGE, b + 3 * PAGE, b + 4 * PAGE, b + 5 * PAGE), asked,
        "one query per run, forward");
    assertEquals("r--", out.get(1).perms());
  }

  @Test
  void walkStopsAtAnErrorOrAnAnswerThatDoesNotAdvance() {
    List<Mapping> out = new ArrayList<>();
    assertEquals(WinErrno.EINVAL,
        WindowsProtOs.walk(space(new long[][] {{0, PAGE, 1, 3}}, new ArrayList<>()), 0, 2 * PAGE, out));
    assertEquals(List.of(new Mapping(0, PAGE, true, true, false)), out);
    WindowsProtOs.Query stuck = (address, q) -> {
      q[0] = address;
      q[1] = 0;
      q[2] = 1;
      q[3] = 3;
      return 0;
    };
    assertEquals(WinErrno.EIO, WindowsProtOs.walk(stuck, PAGE, 2 * PAGE, new ArrayList<>()));
  }
}
