package org.mpsprot.os.linux;

import java.util.Map;
import org.mpsprot.os.ClassicErrno;

/** Linux errno values the module can meet, by name (asm-generic/errno.h beyond the classic ones). */
final class Errno extends ClassicErrno {
  static final int ENOSYS = 38;
  static final int EOPNOTSUPP = 95;

  private static final Map<Integer, String> NAMES = names(Errno.class);

  private Errno() {}

  /** The name of {@code errno}, or "errno N" for a value not listed here. */
  static String name(int errno) {
    return name(NAMES, errno);
  }
}
