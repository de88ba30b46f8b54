package org.mpsprot.step;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mpsprot.Access;
import org.mpsprot.AccessLogEntry;
import org.mpsprot.AccessSet;
import org.mpsprot.Accessors;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.FaultCounters;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.testing.OsMaps;
import sun.misc.Unsafe;

/**
 * Step-and-record end to end on x86-64 (docs/design/step.md): Java mutators load and store every
 * width on protected pages (JIT-compiled ByteBuffer and Unsafe code, and the module's accessors);
 * with stepping they get exactly the results of the same operations on unprotected memory, the
 * pages stay protected, and every access is in the region's log.
 */
class StepEndToEndTest {
  private static final Unsafe UNSAFE = unsafe();
  /** Fewer than the log's capacity (4096): with a full log the policy falls back. */
  private static final int OPS = 3_000;

  private static Unsafe unsafe() {
    try {
      Field f = Unsafe.class.getDeclaredField("theUnsafe");
      f.setAccessible(true);
      return (Unsafe) f.get(null);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  /** A mutator: a deterministic mix of loads and stores of every width; returns a checksum. */
  interface Mutator {
    long run(long base, ByteBuffer view, SplittableRandom rnd, int ops);
  }

  private static long viaByteBuffer(long base, ByteBuffer v, SplittableRandom rnd, int ops) {
    long sum = 0;
    for (int i = 0; i < ops; i++) {
      int at = rnd.nextInt(1000) * 8;
      switch (rnd.nextInt(8)) {
        case 0 -> v.put(at + 3, (byte) i);
        case 1 -> v.putShort(at + 2, (short) (i * 3));
        case 2 -> v.putInt(at + 4, i * 7);
        case 3 -> v.putLong(at, (long) i * 0x9E3779B97F4A7C15L);
        case 4 -> sum += v.get(at + 5);
        case 5 -> sum += v.getShort(at + 6);
        case 6 -> sum += v.getInt(at);
        default -> sum += v.getLong(at);
      }
    }
    return sum;
  }

  private static long viaUnsafe(long base, ByteBuffer v, SplittableRandom rnd, int ops) {
    long sum = 0;
    for (int i = 0; i < ops; i++) {
      long at = base + rnd.nextInt(1000) * 8L;
      switch (rnd.nextInt(8)) {
        case 0 -> UNSAFE.putByte(at + 3, (byte) i);
        case 1 -> UNSAFE.putShort(at + 2, (short) (i * 3));
        case 2 -> UNSAFE.putInt(at + 4, i * 7);
        case 3 -> UNSAFE.putLong(at, (long) i * 0x9E3779B97F4A7C15L);
        case 4 -> sum += UNSAFE.getByte(at + 5);
        case 5 -> sum += UNSAFE.getShort(at + 6);
        case 6 -> sum += UNSAFE.getInt(at);
        default -> sum += UNSAFE.getLong(at);
      }
    }
    return sum;
  }

  private static long viaAccessors(long base, ByteBuffer v, SplittableRandom rnd, int ops) {
    long sum = 0;
    for (int i = 0; i < ops; i++) {
      long at = base + rnd.nextInt(1000) * 8L;
      switch (rnd.nextInt(8)) {
        case 0 -> Accessors.putByte(at + 3, (byte) i);
        case 1 -> Accessors.putShort(at + 2, (short) (i * 3));
        case 2 -> Accessors.putInt(at + 4, i * 7);
        case 3 -> Accessors.putLong(at, (long) i * 0x9E3779B97F4A7C15L);
        case 4 -> sum += Accessors.getByte(at + 5);
        case 5 -> sum += Accessors.getShort(at + 6);
        case 6 -> sum += Accessors.getInt(at);
        default -> sum += Accessors.getLong(at);
      }
    }
    return sum;
  }

  private void compare(String name, Mutator m) {
    Prot prot = Prot.setup();
    long page = prot.granularity();
    try (Region plain = prot.reserve(2 * page); Region stepped = prot.reserve(2 * page)) {
      stepped.setPolicy(BarrierPolicy.STEP);
      // Warm up on the open region so that the measured run is JIT-compiled code.
      for (int w = 0; w < 30; w++) {
        m.run(plain.base(), plain.mutatorView(), new SplittableRandom(w), OPS);
      }
      plain.alias().put(new byte[(int) (2 * page)]).clear();
      stepped.protectAll(AccessSet.ALL);
      FaultCounters before = prot.counters();
      long expected = m.run(plain.base(), plain.mutatorView(), new SplittableRandom(42), OPS);
      long got = m.run(stepped.base(), stepped.mutatorView(), new SplittableRandom(42), OPS);
      FaultCounters d = prot.counters().minus(before);
      assertEquals(expected, got, name + ": the loads returned what unprotected execution loads");
      byte[] a = new byte[(int) (2 * page)];
      byte[] b = new byte[(int) (2 * page)];
      plain.alias().get(a);
      stepped.alias().get(b);
      assertArrayEquals(a, b, name + ": the stores left what unprotected execution leaves");
      assertEquals("---", OsMaps.perms(stepped.base()), name + ": the pages stay protected");
      assertEquals(AccessSet.ALL, stepped.mode(0));
      assertEquals(OPS, d.stepped(), name + ": every access was stepped: " + d);
      assertEquals(0, d.unprotected(), name + ": nothing fell back: " + d);
      List<AccessLogEntry> log = drainAll(stepped);
      assertEquals(OPS, log.size(), name + ": every access is in the log");
      for (AccessLogEntry e : log) {
        assertTrue(e.address() >= stepped.base() && e.address() + e.size() <= stepped.base() + 8008,
            "logged address inside the touched range: " + e);
        assertTrue(e.size() == 1 || e.size() == 2 || e.size() == 4 || e.size() == 8, e.toString());
        if (e.access() == Access.READ) {
          assertEquals(e.before(), e.after(), "a load does not change memory: " + e);
        }
      }
    }
  }

  private static List<AccessLogEntry> drainAll(Region r) {
    List<AccessLogEntry> all = new java.util.ArrayList<>();
    for (List<AccessLogEntry> part = r.drainLog(); !part.isEmpty(); part = r.drainLog()) {
      all.addAll(part);
    }
    return all;
  }

  @Test
  void aFullLogFallsBackToUnprotectAndLosesNothing() {
    Prot prot = Prot.setup();
    long page = prot.granularity();
    try (Region r = prot.reserve(page)) {
      r.setPolicy(BarrierPolicy.STEP);
      r.protectAll(AccessSet.WRITE);
      FaultCounters before = prot.counters();
      for (int i = 0; i < 4096; i++) {
        Accessors.putInt(r.base() + 4L * (i % 1000), i);
      }
      assertEquals("r--", OsMaps.perms(r.base()), "4096 stores fill the log; the page stays protected");
      Accessors.putInt(r.base() + 8, -1);
      FaultCounters d = prot.counters().minus(before);
      assertEquals(4096, d.stepped());
      assertEquals(1, d.logFull(), d.toString());
      assertEquals(1, d.unprotected(), d.toString());
      assertEquals("rw-", OsMaps.perms(r.base()), "the fallback opened the page");
      assertTrue(r.dirtyPages().get(0), "and recorded it dirty: nothing is lost");
      assertEquals(-1, r.alias().getInt(8));
      assertEquals(4096, drainAll(r).size());
    }
  }

  @Test
  void jitCompiledByteBufferAccessesStep() {
    compare("ByteBuffer", StepEndToEndTest::viaByteBuffer);
  }

  @Test
  void jitCompiledUnsafeAccessesStep() {
    compare("Unsafe", StepEndToEndTest::viaUnsafe);
  }

  @Test
  void accessorAccessesStep() {
    compare("Accessors", StepEndToEndTest::viaAccessors);
  }
}
