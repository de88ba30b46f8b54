package org.mpsprot.os;

import com.sun.jna.Native;

/**
 * The part of libmpsprot's API (mps-prot-native/src/main/c/mpsprot.h) that every OS's shim
 * exports with the same meaning, through JNA direct mapping: static native methods, no
 * interface proxy on hot paths. Used only by {@link ShimProtOs}; the OS-specific functions are
 * bound by each OS package's own class against the same {@link ShimLibrary#INSTANCE}.
 */
final class CommonShim {
  static final int API_VERSION = 1;

  static {
    Native.register(CommonShim.class, ShimLibrary.INSTANCE);
  }

  private CommonShim() {}

  static native int mpsprot_version();

  static native long mpsprot_page_size();

  static native int mpsprot_setup();

  static native int mpsprot_handler_installed();

  static native int mpsprot_region_create(long size, long[] out);

  static native int mpsprot_region_destroy(int slot);

  static native int mpsprot_region_count();

  /** restoreFailed: the address of a native int32 (passed as a number: no array copy per call). */
  static native int mpsprot_protect(int slot, long offset, long length, int mode, long restoreFailed);

  static native long mpsprot_region_record(int slot);

  static native int mpsprot_region_alias_reset(int slot);

  static native int mpsprot_region_sync(int slot, long base, int repair, long from, long[] out, int max,
      long[] result);

  static native void mpsprot_mutator_enter();

  static native void mpsprot_mutator_leave();

  static native int mpsprot_mutator_depth();

  static native int mpsprot_uninstall();

  static native int mpsprot_region_set_policy(int slot, int policy, int fallback);

  static native long mpsprot_region_bitmap(int slot, int which);

  static native int mpsprot_harvest(int slot, long first, long count, int modeAfter, long[] out, long[] found);

  static native int mpsprot_harvest_touched(int slot, long first, long count, int modeAfter, long[] out,
      long[] found);

  /**
   * {@code out} is the address of a direct buffer, not a {@code java.nio.Buffer}: JNA's direct
   * mapping of a Buffer argument makes a JNI call whose exception it does not check, which
   * {@code -Xcheck:jni} reports on every drain (README, "-Xcheck:jni").
   */
  static native int mpsprot_log_drain(int slot, long out, int max);

  static native int mpsprot_handoff_wait(int timeoutMs);

  static native long mpsprot_handoff_context(int ticket);

  static native int mpsprot_handoff_resolve(int ticket, int outcome);

  static native int mpsprot_handoff_parked(long[] out, int max);

  static native long mpsprot_counter(int which);

  static native int mpsprot_context_can_step(long ctx);

  static native int mpsprot_context_step(long ctx);

  static native int mpsprot_fault_ring_sample(int period);

  static native int mpsprot_fault_ring_drain(long[] out, int max);

  static native long mpsprot_fault_ring_dropped();

  static native long mpsprot_handoff_parked_ns(int ticket);
}
