package org.mpsprot.os.windows;

/**
 * The errno values mpsprot.dll returns, by name. The DLL is built with mingw-w64 against the
 * Microsoft C runtime, whose numbering is not Linux's past 34 (mingw-w64's errno.h, the same in
 * msvcrt and the UCRT): ENOSYS is 40 here and 38 on Linux, EOPNOTSUPP 130 here and 95 there.
 * GetLastError codes become these values as docs/design/os.md .os.windows.errors lists.
 */
final class WinErrno {
  static final int EPERM = 1;
  static final int ENOENT = 2;
  static final int EINTR = 4;
  static final int EIO = 5;
  static final int EBADF = 9;
  static final int EAGAIN = 11;
  static final int ENOMEM = 12;
  static final int EACCES = 13;
  static final int EFAULT = 14;
  static final int EBUSY = 16;
  static final int EEXIST = 17;
  static final int ENODEV = 19;
  static final int EINVAL = 22;
  static final int ENFILE = 23;
  static final int EMFILE = 24;
  static final int ENOTTY = 25;
  static final int EFBIG = 27;
  static final int ENOSPC = 28;
  static final int ENOSYS = 40;
  static final int ENOTSUP = 129;
  static final int EOPNOTSUPP = 130;
  static final int ETIMEDOUT = 138;

  private WinErrno() {}

  /** The C runtime's name of {@code errno}, or "errno N" for a value not listed here. */
  static String name(int errno) {
    return switch (errno) {
      case EPERM -> "EPERM";
      case ENOENT -> "ENOENT";
      case EINTR -> "EINTR";
      case EIO -> "EIO";
      case EBADF -> "EBADF";
      case EAGAIN -> "EAGAIN";
      case ENOMEM -> "ENOMEM";
      case EACCES -> "EACCES";
      case EFAULT -> "EFAULT";
      case EBUSY -> "EBUSY";
      case EEXIST -> "EEXIST";
      case ENODEV -> "ENODEV";
      case EINVAL -> "EINVAL";
      case ENFILE -> "ENFILE";
      case EMFILE -> "EMFILE";
      case ENOTTY -> "ENOTTY";
      case EFBIG -> "EFBIG";
      case ENOSPC -> "ENOSPC";
      case ENOSYS -> "ENOSYS";
      case ENOTSUP -> "ENOTSUP";
      case EOPNOTSUPP -> "EOPNOTSUPP";
      case ETIMEDOUT -> "ETIMEDOUT";
      default -> "errno " + errno;
    };
  }
}
