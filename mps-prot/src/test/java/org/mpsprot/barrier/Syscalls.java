package org.mpsprot.barrier;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/** libc's pipe, read, write and close, for making the kernel write into a tracked page. */
final class Syscalls {
  static final int EFAULT = 14;

  static {
    Native.register(Syscalls.class, "c");
  }

  private Syscalls() {}

  static native int pipe(int[] fds) throws LastErrorException;

  static native long read(int fd, Pointer buf, long count) throws LastErrorException;

  static native long write(int fd, byte[] buf, long count) throws LastErrorException;

  static native int close(int fd) throws LastErrorException;

  /** What read(2) did: bytes read, or -errno. */
  static long readInto(int fd, long address, long count) {
    try {
      return read(fd, new Pointer(address), count);
    } catch (LastErrorException e) {
      return -e.getErrorCode();
    }
  }
}
