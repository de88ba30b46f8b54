package org.mpsprot.testing;

import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * Direct libc calls that bypass the module, so that tests can change memory "from outside" and
 * check that the module notices.
 */
public final class LibC {
  public static final int PROT_NONE = 0;
  public static final int PROT_READ = 1;
  public static final int PROT_WRITE = 2;
  /** mmap flags (Linux, the same on x86-64 and aarch64). */
  public static final int MAP_PRIVATE = 0x02;
  public static final int MAP_FIXED = 0x10;
  public static final int MAP_ANONYMOUS = 0x20;
  /** sysconf's name for the page size on Linux (glibc, every CPU). */
  public static final int SC_PAGESIZE = 30;

  static {
    Native.register(LibC.class, "c");
  }

  private LibC() {}

  public static native int mprotect(Pointer address, long length, int prot);

  public static native int munmap(Pointer address, long length);

  public static native Pointer mmap(Pointer address, long length, int prot, int flags, int fd, long offset);

  /** Anonymous private memory mapped over [address, address + length) (MAP_FIXED); its address or -1. */
  public static long mapFixedAnonymous(long address, long length, int prot) {
    Pointer p = mmap(new Pointer(address), length, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    return Pointer.nativeValue(p);
  }
  /** sysconf(3) of the C library loaded in this JVM: under qemu-user, the guest's answer. */
  public static native long sysconf(int name);

  public static int mprotect(long address, long length, int prot) {
    return mprotect(new Pointer(address), length, prot);
  }

  public static int munmap(long address, long length) {
    return munmap(new Pointer(address), length);
  }
}
