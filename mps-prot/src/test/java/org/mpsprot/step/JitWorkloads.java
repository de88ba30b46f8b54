package org.mpsprot.step;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import sun.misc.Unsafe;

/**
 * The Java workloads of {@link StepJitEndToEndTest}: hot loops over off-heap memory at
 * {@code base} (a region's mutator view, {@link #SPAN} bytes) that touch it the ways Java code
 * does -- float/double arithmetic, VarHandle atomics on a direct buffer, Unsafe atomics, bulk
 * copies (and, on JDK 22+, MemorySegment, compiled at test time: {@link #SEGMENT_SOURCE}).
 * Each is deterministic in its seed and the memory it starts from, so a run on a STEP region
 * and a run on an unprotected one must return the same checksum and leave the same bytes.
 */
public final class JitWorkloads {
  /** The bytes a workload touches, from base: four pages of 4 KiB. */
  public static final int SPAN = 16384;

  static final Unsafe U = unsafe();

  private JitWorkloads() {}

  private static Unsafe unsafe() {
    try {
      Field f = Unsafe.class.getDeclaredField("theUnsafe");
      f.setAccessible(true);
      return (Unsafe) f.get(null);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  /** One workload. */
  public interface Workload {
    String name();

    /** Iterations per call: few enough that the accesses of one call fit the log (4096). */
    int chunk();

    /** Fills the SPAN bytes (through the alias view) with the workload's starting state. */
    void init(ByteBuffer alias);

    /** Runs {@code ops} iterations over [base, base + SPAN); returns a checksum. */
    long run(long base, ByteBuffer view, int seed, int ops);
  }

  /** The workloads that compile on every JDK (17+). */
  public static List<Workload> all() {
    return List.of(new FloatsUnsafe(), new FloatsBuffer(), new VarHandles(), new UnsafeAtomics(),
        new BulkCopies());
  }

  static void fillDoubles(ByteBuffer a) {
    for (int i = 0; i < 512; i++) {
      a.putDouble(8 * i, 1.0 + i / 7.0);
    }
    for (int i = 0; i < 1024; i++) {
      a.putFloat(4096 + 4 * i, 0.25f + i / 3.0f);
    }
  }

  /** double and float loads, stores and arithmetic on Unsafe addresses (C2 folds loads into
   * VEX arithmetic: vmulsd xmm, xmm, [mem]). */
  static final class FloatsUnsafe implements Workload {
    public String name() {
      return "floats-unsafe";
    }

    public int chunk() {
      return 200;
    }

    public void init(ByteBuffer a) {
      fillDoubles(a);
    }

    public long run(long base, ByteBuffer v, int seed, int ops) {
      double s = 0;
      float t = 0;
      int j = seed & 255;
      long fb = base + 4096;
      for (int k = 0; k < ops; k++) {
        j = (j * 5 + 1) & 255;
        long da = base + 8L * j;
        long fa = fb + 4L * j;
        double d = U.getDouble(da) * 0.999 + U.getFloat(fa);
        U.putDouble(da, d);
        float f = (float) (U.getFloat(fa) + U.getDouble(base + 8L * ((j * 3) & 255)));
        U.putFloat(fa, f);
        s += d - f;
        s = s * U.getDouble(base + 8L * ((j + 7) & 255)) / U.getDouble(base + 8L * ((j + 9) & 255));
        t += U.getFloat(fb + 4L * ((j + 1) & 255)) * U.getFloat(fb + 4L * ((j + 2) & 255));
        t -= U.getFloat(fb + 4L * ((j + 3) & 255));
        s += (double) U.getInt(base + 8192 + 4L * j) + (float) U.getLong(base + 12288 + 8L * (j & 63));
      }
      return Double.doubleToRawLongBits(s) ^ Float.floatToRawIntBits(t);
    }
  }

  /** double and float through a direct ByteBuffer (absolute get/put). */
  static final class FloatsBuffer implements Workload {
    public String name() {
      return "floats-bytebuffer";
    }

    public int chunk() {
      return 200;
    }

    public void init(ByteBuffer a) {
      fillDoubles(a);
    }

    public long run(long base, ByteBuffer v, int seed, int ops) {
      double s = 0;
      float t = 0;
      int j = seed & 255;
      for (int k = 0; k < ops; k++) {
        j = (j * 5 + 1) & 255;
        int da = 8 * j;
        int fa = 4096 + 4 * j;
        double d = v.getDouble(da) * 0.999 + v.getFloat(fa);
        v.putDouble(da, d);
        float f = (float) (v.getFloat(fa) + v.getDouble(8 * ((j * 3) & 255)));
        v.putFloat(fa, f);
        s += d - f;
        t += v.getFloat(4096 + 4 * ((j + 1) & 255)) * v.getFloat(4096 + 4 * ((j + 2) & 255));
      }
      return Double.doubleToRawLongBits(s) ^ Float.floatToRawIntBits(t);
    }
  }

  static final VarHandle LONGS =
      MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
  static final VarHandle INTS =
      MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

  /** VarHandle getVolatile/setVolatile/compareAndSet/getAndAdd (and int forms) on a direct
   * buffer: lock cmpxchg, lock xadd, volatile loads and stores. */
  static final class VarHandles implements Workload {
    public String name() {
      return "varhandle";
    }

    public int chunk() {
      return 300;
    }

    public void init(ByteBuffer a) {
      for (int i = 0; i < SPAN / 8; i++) {
        a.putLong(8 * i, i * 3L);
      }
    }

    public long run(long base, ByteBuffer v, int seed, int ops) {
      long sum = 0;
      for (int k = 0; k < ops; k++) {
        int i = 8 * ((k * 7 + seed) & 255);
        long x = (long) LONGS.getVolatile(v, i);
        sum += x;
        LONGS.setVolatile(v, i + 2048 * 4, sum);
        if (LONGS.compareAndSet(v, i, x, x + k)) {
          sum++;
        }
        sum += (long) LONGS.getAndAdd(v, i + 4096, 3L);
        sum += (int) INTS.getAndAdd(v, 8192 + i / 2, 1);
        if (INTS.compareAndSet(v, 8192 + 4 + i / 2, k, k + 1)) {
          sum += 2;
        }
        sum += (int) INTS.getVolatile(v, 8192 + i / 2);
        INTS.setVolatile(v, 12288 + i / 2, (int) sum);
      }
      return sum;
    }
  }

  /** sun.misc.Unsafe atomics and volatile/ordered accesses on raw addresses. */
  static final class UnsafeAtomics implements Workload {
    public String name() {
      return "unsafe-atomics";
    }

    public int chunk() {
      return 300;
    }

    public void init(ByteBuffer a) {
      for (int i = 0; i < SPAN / 8; i++) {
        a.putLong(8 * i, i * 5L);
      }
    }

    public long run(long base, ByteBuffer v, int seed, int ops) {
      long sum = 0;
      for (int k = 0; k < ops; k++) {
        long a = base + 8L * ((k * 11 + seed) & 255);
        long x = U.getLongVolatile(null, a);
        if (U.compareAndSwapLong(null, a, x, x ^ k)) {
          sum++;
        }
        sum += U.getAndAddLong(null, a + 4096, k);
        sum += U.getAndSetLong(null, a + 8192, sum);
        U.putLongVolatile(null, a + 12288 - 2048, sum);
        U.putOrderedLong(null, a + 12288, k);
        sum += U.getAndAddInt(null, a + 4096 + 2048, 1);
        if (U.compareAndSwapInt(null, a + 8192 + 2052, k, k + 1)) {
          sum += 3;
        }
        sum += U.getIntVolatile(null, a + 12288 + 2048);
      }
      return sum;
    }
  }

  /** Bulk copies: Unsafe.copyMemory between a heap array and the region and within the
   * region, and ByteBuffer bulk get/put (HotSpot's arraycopy stubs, or libjvm's copy loops). */
  static final class BulkCopies implements Workload {
    private final byte[] bytes = new byte[512];
    private final long[] longs = new long[64];

    public String name() {
      return "bulk-copy";
    }

    public int chunk() {
      return 8;
    }

    public void init(ByteBuffer a) {
      for (int i = 0; i < SPAN; i++) {
        a.put(i, (byte) (i * 31 + 7));
      }
      for (int i = 0; i < bytes.length; i++) {
        bytes[i] = (byte) i;
      }
      for (int i = 0; i < longs.length; i++) {
        longs[i] = i * 0x9E3779B97F4A7C15L;
      }
    }

    public long run(long base, ByteBuffer v, int seed, int ops) {
      long sum = 0;
      int r = seed * 0x9E3779B9 + 1;
      long bb = Unsafe.ARRAY_BYTE_BASE_OFFSET;
      long lb = Unsafe.ARRAY_LONG_BASE_OFFSET;
      for (int k = 0; k < ops; k++) {
        r = r * 1103515245 + 12345;
        int len = 1 + ((r >>> 8) & 255);
        int off = (r >>> 4) & 4095;
        U.copyMemory(bytes, bb + (k & 63), null, base + off, len);
        U.copyMemory(null, base + 4096 + ((off * 3) & 4095), bytes, bb + 64, len);
        U.copyMemory(base + 4096 + off, base + 8192 + ((off * 5) & 4095), len);
        U.copyMemory(longs, lb, null, base + 12288 + 8L * (k & 31), 8L * 32);
        U.copyMemory(null, base + 12288 + 8L * ((k + 5) & 31), longs, lb, 8L * 16);
        v.put(8192 + off / 2, bytes, 3, len / 2);
        v.get(off, bytes, 128, len);
        sum += bytes[64] + bytes[64 + len - 1] + bytes[128 + len / 2] + longs[k & 63];
      }
      for (byte b : bytes) {
        sum = sum * 31 + b;
      }
      return sum;
    }
  }

  /** The MemorySegment workload (JDK 22+; compiled by the test only there, so the suite
   * compiles on JDK 17): getters and setters, VarHandle atomics, and bulk copies on a segment
   * over the region. Class name: SegmentWorkload, in the default package. */
  static final String SEGMENT_SOURCE = """
      import java.lang.foreign.MemorySegment;
      import java.lang.foreign.ValueLayout;
      import java.lang.invoke.VarHandle;
      import java.nio.ByteBuffer;
      import org.mpsprot.step.JitWorkloads;

      public final class SegmentWorkload implements JitWorkloads.Workload {
        static final VarHandle VL = ValueLayout.JAVA_LONG.varHandle();
        static final VarHandle VI = ValueLayout.JAVA_INT.varHandle();

        public String name() { return "memorysegment"; }
        public int chunk() { return 200; }
        public void init(ByteBuffer a) {
          for (int i = 0; i < 512; i++) a.putDouble(8 * i, 1.0 + i / 7.0);
          for (int i = 0; i < 1536; i++) a.putLong(4096 + 8 * i, i);
        }
        public long run(long base, ByteBuffer v, int seed, int ops) {
          MemorySegment s = MemorySegment.ofAddress(base).reinterpret(JitWorkloads.SPAN);
          long sum = 0;
          double d = 0;
          for (int k = 0; k < ops; k++) {
            long j = 8L * ((k * 5 + seed) & 255);
            double x = s.get(ValueLayout.JAVA_DOUBLE, j) * 1.25 + s.get(ValueLayout.JAVA_FLOAT, 2048 + j / 2);
            s.set(ValueLayout.JAVA_DOUBLE, j, x / s.get(ValueLayout.JAVA_DOUBLE, (j + 64) & 2047));
            d += x;
            long o = 4096 + j;
            sum += s.get(ValueLayout.JAVA_LONG, o) + s.get(ValueLayout.JAVA_INT, o + 2048);
            s.set(ValueLayout.JAVA_SHORT, o + 4096, (short) k);
            sum += (long) VL.getVolatile(s, o);
            VL.setVolatile(s, o + 8, sum);
            if (VL.compareAndSet(s, o, sum, sum + 1)) sum++;
            sum += (long) VL.getAndAdd(s, o + 2048, 5L);
            sum += (int) VI.getAndAdd(s, o + 4096 + 4, 1);
          }
          return sum ^ Double.doubleToRawLongBits(d);
        }

        /** MemorySegment.copy between a heap segment and the region, and fill. */
        public static final class Copy implements JitWorkloads.Workload {
          private final MemorySegment heap = MemorySegment.ofArray(new byte[512]);

          public String name() { return "memorysegment-copy"; }
          public int chunk() { return 10; }
          public void init(ByteBuffer a) {
            for (int i = 0; i < JitWorkloads.SPAN; i++) a.put(i, (byte) (i * 13 + 1));
            for (int i = 0; i < 512; i++) heap.set(ValueLayout.JAVA_BYTE, i, (byte) i);
          }
          public long run(long base, ByteBuffer v, int seed, int ops) {
            MemorySegment s = MemorySegment.ofAddress(base).reinterpret(JitWorkloads.SPAN);
            long sum = 0;
            int r = seed * 0x9E3779B9 + 1;
            for (int k = 0; k < ops; k++) {
              r = r * 1103515245 + 12345;
              int len = 1 + ((r >>> 8) & 255);
              int off = (r >>> 4) & 4095;
              MemorySegment.copy(heap, k & 63, s, 8192 + off, len);
              MemorySegment.copy(s, 12288 + ((off * 3) & 3071), heap, 64, len);
              MemorySegment.copy(s, off, s, 4096 + ((off * 7) & 4095), len);
              s.asSlice(off, len / 2).fill((byte) k);
              sum += heap.get(ValueLayout.JAVA_BYTE, 64 + len - 1);
            }
            return sum;
          }
        }
      }
      """;
}
