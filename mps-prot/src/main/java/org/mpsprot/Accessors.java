package org.mpsprot;

import com.sun.jna.Native;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import org.mpsprot.os.NativeBackend;

/**
 * The module's mutator accessors (.sol.accessor): loads and stores that run inside the C shim,
 * so that a fault they take happens while the thread is in native state, where parking it is
 * safe. They are the Java mutator's way into {@link BarrierPolicy#HANDOFF} regions (a read
 * barrier resolved by a Java collector); JIT-compiled accesses there would deadlock at the
 * next safepoint and are refused (.rule.native).
 *
 * <p>Addresses are absolute (a region's {@link Region#base()} plus an offset); values are in the
 * platform's byte order; no bounds are checked here: an address outside every region that is not
 * mapped crashes the process as any native access would. Each call is one native call: an FFM
 * downcall on JDK 22+ (about 10 ns), a JNA direct call otherwise (about 60 ns;
 * docs/performance.md .jmh, docs/design/os.md .backend). Thread-safe.
 */
public final class Accessors {
  static {
    Native.register(Accessors.class, org.mpsprot.os.ShimLibrary.INSTANCE);
  }

  // The FFM backend's downcall handles (docs/design/os.md .backend), null on JNA. Static final,
  // so the JIT folds the test and inlines the downcall. None is Linker.Option.critical: an
  // accessor may fault into a HANDOFF park, which is safe only in native state (.rule.native).
  private static final MethodHandle GET_U8 = handle("mpsprot_get_u8", byte.class, long.class);
  private static final MethodHandle GET_U16 = handle("mpsprot_get_u16", short.class, long.class);
  private static final MethodHandle GET_U32 = handle("mpsprot_get_u32", int.class, long.class);
  private static final MethodHandle GET_U64 = handle("mpsprot_get_u64", long.class, long.class);
  private static final MethodHandle PUT_U8 = handle("mpsprot_put_u8", void.class, long.class, byte.class);
  private static final MethodHandle PUT_U16 = handle("mpsprot_put_u16", void.class, long.class, short.class);
  private static final MethodHandle PUT_U32 = handle("mpsprot_put_u32", void.class, long.class, int.class);
  private static final MethodHandle PUT_U64 = handle("mpsprot_put_u64", void.class, long.class, long.class);
  private static final MethodHandle COPY = handle("mpsprot_copy", void.class, long.class, long.class, long.class);

  private Accessors() {}

  private static MethodHandle handle(String name, Class<?> ret, Class<?>... args) {
    return NativeBackend.current().downcall(name, MethodType.methodType(ret, args));
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      throw r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    throw new IllegalStateException("an accessor's downcall threw " + t, t);
  }

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
    if (GET_U8 != null) {
      try {
        return (byte) GET_U8.invokeExact(address);
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }
    return mpsprot_get_u8(address);
  }

  public static short getShort(long address) {
    if (GET_U16 != null) {
      try {
        return (short) GET_U16.invokeExact(address);
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }
    return mpsprot_get_u16(address);
  }

  public static int getInt(long address) {
    if (GET_U32 != null) {
      try {
        return (int) GET_U32.invokeExact(address);
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }
    return mpsprot_get_u32(address);
  }

  public static long getLong(long address) {
    if (GET_U64 != null) {
      try {
        return (long) GET_U64.invokeExact(address);
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }
    return mpsprot_get_u64(address);
  }

  public static void putByte(long address, byte value) {
    if (PUT_U8 != null) {
      try {
        PUT_U8.invokeExact(address, value);
        return;
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }
    mpsprot_put_u8(address, value);
  }

  public static void putShort(long address, short value) {
    if (PUT_U16 != null) {
      try {
        PUT_U16.invokeExact(address, value);
        return;
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }
    mpsprot_put_u16(address, value);
  }

  public static void putInt(long address, int value) {
    if (PUT_U32 != null) {
      try {
        PUT_U32.invokeExact(address, value);
        return;
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }
    mpsprot_put_u32(address, value);
  }

  public static void putLong(long address, long value) {
    if (PUT_U64 != null) {
      try {
        PUT_U64.invokeExact(address, value);
        return;
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }
    mpsprot_put_u64(address, value);
  }

  /** Copies {@code length} bytes from {@code src} to {@code dst}, faulting like a mutator. */
  public static void copy(long dst, long src, long length) {
    if (length < 0) {
      throw new IllegalArgumentException("copy length " + length + " is negative");
    }
    if (COPY != null) {
      try {
        COPY.invokeExact(dst, src, length);
        return;
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }
    mpsprot_copy(dst, src, length);
  }
}
