package org.mpsprot.os.windows;

import com.sun.jna.Native;

/**
 * The Windows-only part of mpsprot.dll's API (the Windows section of
 * mps-prot-native/src/main/c/mpsprot.h, and mpsprot_query, which only Windows implements)
 * through JNA direct mapping, registered against the one loaded copy of the library. Loading
 * this class anywhere but Windows fails: the other shims do not export the Windows functions.
 */
final class WinShim {
  static {
    Native.register(WinShim.class, org.mpsprot.os.ShimLibrary.INSTANCE);
  }

  private WinShim() {}

  /** VirtualQuery at addr: out[0] run base, [1] run size, [2] committed, [3] MPSPROT_QUERY_* bits. */
  static native int mpsprot_query(long addr, long[] out);

  /** The raw GetLastError code of the calling thread's last failed Windows call in the shim. */
  static native int mpsprot_win_last_error();

  static native int mpsprot_ww_alloc(long size, long[] base);

  static native int mpsprot_ww_free(long base);
}
