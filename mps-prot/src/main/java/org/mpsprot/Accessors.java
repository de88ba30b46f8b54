package org.mpsprot;

import com.sun.jna.Native;

/**
 * The module's mutator accessors (.sol.accessor): loads and stores that run inside the C shim,
 * so that a fault they take happens while the thread is in native state, where parking it is
 * safe. They are the Java mutator's way into {@link BarrierPolicy#HANDOFF} regions (a read
 * barrier resolved by a Java collector); JIT-compiled accesses there would deadlock at the
 * next safepoint and are refused (.rule.native).
 *
 * <p>Addresses are absolute (a region's {@link Region#base()} plus an offset); values are in the
 * platform's byte order; no bounds are checked here: an address outside every region that is not
 * mapped crashes the process as any native access would. Each call costs a JNA direct call
 * (docs/performance.md). Thread-safe.
 */
public final class Accessors {
  static {
    Native.register(Accessors.class, org.mpsprot.os.ShimLibrary.INSTANCE);
  }

  private Accessors() {}

  private static native byte mpsprot_get_u8(long address);

  private static native short mpsprot_get_u16(long address);

  private static native int mpsprot_get_u32(long address);

  private static native long mpsprot_get_u64(long address);

  private static native void mpsprot_put_u8(long address, byte value);

  private static native void mpsprot_put_u16(long address, short value);

  private static native void mpsprot_put_u32(long address, int value);

  private static native void mpsprot_put_u64(long address, long value);

  private static native void mpsprot_copy(long dst, long src, long length);

  public static byte getByte(long address) {
    return mpsprot_get_u8(address);
  }

  public static short getShort(long address) {
    return mpsprot_get_u16(address);
  }

  public static int getInt(long address) {
    return mpsprot_get_u32(address);
  }

  public static long getLong(long address) {
    return mpsprot_get_u64(address);
  }

  public static void putByte(long address, byte value) {
    mpsprot_put_u8(address, value);
  }

  public static void putShort(long address, short value) {
    mpsprot_put_u16(address, value);
  }

  public static void putInt(long address, int value) {
    mpsprot_put_u32(address, value);
  }

  public static void putLong(long address, long value) {
    mpsprot_put_u64(address, value);
  }

  /** Copies {@code length} bytes from {@code src} to {@code dst}, faulting like a mutator. */
  public static void copy(long dst, long src, long length) {
    if (length < 0) {
      throw new IllegalArgumentException("copy length " + length + " is negative");
    }
    mpsprot_copy(dst, src, length);
  }
}
