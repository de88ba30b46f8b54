package org.mpsprot.os.linux;

import com.sun.jna.Native;

/**
 * The Linux-only part of libmpsprot's API (mps-prot-native/src/main/c/mpsprot.h: the probes of
 * probe_linux.c) through JNA direct mapping, registered against the one loaded copy of the
 * library. The functions every OS shares are bound by {@link org.mpsprot.os.ShimProtOs}.
 */
final class Shim {
  static {
    Native.register(Shim.class, org.mpsprot.os.ShimLibrary.INSTANCE);
  }

  private Shim() {}

  static native int mpsprot_probe_uffd_wp_async(long[] detail);

  static native int mpsprot_probe_soft_dirty(long[] detail);
}
