package org.mpsprot.bench;

import com.sun.jna.Native;

/**
 * libc's mprotect through a JNA direct call, bypassing the module: the benchmark's way to
 * separate what the module adds from what running inside a JVM process costs (more mappings,
 * more threads to shoot TLB entries down on).
 */
final class RawMprotect {
  static final int PROT_READ = 1;
  static final int PROT_WRITE = 2;

  static {
    Native.register(RawMprotect.class, "c");
  }

  private RawMprotect() {}

  static native int mprotect(long address, long length, int prot);
}
