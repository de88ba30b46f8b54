package org.mpsprot.os.linux;

/** Linux errno values the module can meet, by name (asm-generic/errno-base.h, errno.h). */
final class Errno {
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
  static final int ENOSYS = 38;
  static final int EOPNOTSUPP = 95;

  private Errno() {}

  static String name(int errno) {
    switch (errno) {
      case EPERM: return "EPERM";
      case ENOENT: return "ENOENT";
      case EINTR: return "EINTR";
      case EIO: return "EIO";
      case EBADF: return "EBADF";
      case EAGAIN: return "EAGAIN";
      case ENOMEM: return "ENOMEM";
      case EACCES: return "EACCES";
      case EFAULT: return "EFAULT";
      case EBUSY: return "EBUSY";
      case EEXIST: return "EEXIST";
      case ENODEV: return "ENODEV";
      case EINVAL: return "EINVAL";
      case ENFILE: return "ENFILE";
      case EMFILE: return "EMFILE";
      case ENOTTY: return "ENOTTY";
      case EFBIG: return "EFBIG";
      case ENOSPC: return "ENOSPC";
      case ENOSYS: return "ENOSYS";
      case EOPNOTSUPP: return "EOPNOTSUPP";
      default: return "errno " + errno;
    }
  }
}
