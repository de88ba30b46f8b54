package org.mpsprot.os.linux;

import com.sun.jna.Native;
import org.mpsprot.os.ShimLibrary;

/**
 * The shim's userfaultfd dirty-tracking backend (dirty_uffd_linux.c, declared in mpsprot.h)
 * through JNA direct mapping. A class of its own, apart from {@link Shim}, so that a shim built
 * without the backend fails only here: {@link UffdTracking} turns that failure into an
 * unavailability with its reason.
 */
final class UffdShim {
  static {
    Native.register(UffdShim.class, ShimLibrary.INSTANCE);
  }

  private UffdShim() {}

  static native int mpsprot_region_find(long address);

  static native int mpsprot_uffd_attach(int slot);

  static native int mpsprot_uffd_harvest(int slot, long first, long count, long[] out, long[] found);

  static native int mpsprot_uffd_detach(int slot);
}
