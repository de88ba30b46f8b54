package org.mpsprot.os.windows;

import java.util.Map;
import org.mpsprot.os.ClassicErrno;

/**
 * The errno values mpsprot.dll returns, by name. The DLL is built with mingw-w64 against the
 * Microsoft C runtime, whose numbering is not Linux's past 34 (mingw-w64's errno.h, the same in
 * msvcrt and the UCRT): ENOSYS is 40 here and 38 on Linux, EOPNOTSUPP 130 here and 95 there.
 * GetLastError codes become these values as docs/design/os.md .os.windows.errors lists.
 */
final class WinErrno extends ClassicErrno {
  static final int ENOSYS = 40;
  static final int ENOTSUP = 129;
  static final int EOPNOTSUPP = 130;
  static final int ETIMEDOUT = 138;

  private static final Map<Integer, String> NAMES = names(WinErrno.class);

  private WinErrno() {}

  /** The C runtime's name of {@code errno}, or "errno N" for a value not listed here. */
  static String name(int errno) {
    return name(NAMES, errno);
  }
}
