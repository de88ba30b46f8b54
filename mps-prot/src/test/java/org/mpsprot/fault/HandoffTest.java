package org.mpsprot.fault;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.mpsprot.AccessSet;
import org.mpsprot.Accessors;
import org.mpsprot.FaultCounters;
import org.mpsprot.HandoffFallback;
import org.mpsprot.MutatorFaultContext;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * Faults resolved by a Java collector: the mutator (using the module's accessors, so in native
 * state) parks, the barrier thread runs the handler with the captured context, the mutator
 * resumes.
 */
class HandoffTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();
  private final List<Region> regions = new ArrayList<>();

  @AfterEach
  void close() {
    regions.forEach(Region::close);
  }

  private Region region(int pages) {
    Region r = prot.reserve(pages * page);
    regions.add(r);
    return r;
  }

  /** A snapshot of what the handler saw, taken while the context was valid. */
  record Seen(long address, AccessSet access, long pc, int tid, boolean nativeState, byte[] insn, Region region) {
    static Seen of(MutatorFaultContext c) {
      return new Seen(c.address(), c.access(), c.pc(), c.threadId(), c.nativeState(), c.instructionBytes(), c.region());
    }
  }

  private static int gettid() {
    return com.sun.jna.Function.getFunction("c", "gettid").invokeInt(new Object[0]);
  }

  @Test
  void aWriteFaultIsHandedToTheCollectorWithItsExactContext() throws Exception {
    Region r = region(4);
    List<Seen> seen = new CopyOnWriteArrayList<>();
    List<MutatorFaultContext> kept = new CopyOnWriteArrayList<>();
    r.setHandoff(ctx -> {
      seen.add(Seen.of(ctx));
      kept.add(ctx);
      prot.set(r.base() + page, r.base() + 2 * page, AccessSet.EMPTY);
    }, HandoffFallback.FAIL_FAST);
    r.protect(page, page, AccessSet.WRITE);
    FaultCounters before = prot.counters();
    long address = r.base() + page + 12;
    Accessors.putLong(address, 0x1122334455667788L);
    assertEquals(0x1122334455667788L, r.alias().getLong((int) page + 12), "the store completed after resuming");
    assertEquals(1, seen.size());
    Seen s = seen.get(0);
    assertEquals(address, s.address(), "the exact address, not the page");
    assertEquals(AccessSet.WRITE, s.access());
    assertEquals(gettid(), s.tid());
    assertTrue(s.nativeState());
    assertTrue(s.insn().length > 0);
    assertTrue(r == s.region());
    assertTrue(inLibrary(s.pc()), String.format("pc 0x%x lies in libmpsprot", s.pc()));
    FaultCounters d = prot.counters().minus(before);
    assertEquals(1, d.handoffs());
    assertEquals(1, d.writeFaults());
    IllegalStateException stale = assertThrows(IllegalStateException.class, () -> kept.get(0).address());
    assertTrue(stale.getMessage().contains("after its handler returned"), stale.getMessage());
  }

  @Test
  void aReadFaultIsAReadAndTheCollectorMayFillThePageThroughTheAlias() {
    Region r = region(2);
    List<Seen> seen = new CopyOnWriteArrayList<>();
    r.setHandoff(ctx -> {
      seen.add(Seen.of(ctx));
      Region at = ctx.region();
      at.alias().putInt(100, 4242); // scan/copy through the alias, then open the page
      at.protectAll(AccessSet.EMPTY);
    }, HandoffFallback.FAIL_FAST);
    r.protectAll(AccessSet.ALL);
    assertEquals(4242, Accessors.getInt(r.base() + 100));
    assertEquals(1, seen.size());
    assertEquals(AccessSet.READ, seen.get(0).access());
    assertEquals(r.base() + 100, seen.get(0).address());
  }

  @Test
  void everyAccessorWidthFaultsAndCompletes() {
    Region r = region(1);
    r.setHandoff(ctx -> ctx.region().protectAll(AccessSet.EMPTY), HandoffFallback.FAIL_FAST);
    long b = r.base();
    r.protectAll(AccessSet.WRITE);
    Accessors.putByte(b + 1, (byte) 0x7f);
    r.protectAll(AccessSet.WRITE);
    Accessors.putShort(b + 2, (short) 0x1234);
    r.protectAll(AccessSet.WRITE);
    Accessors.putInt(b + 4, 0x89abcdef);
    r.protectAll(AccessSet.WRITE);
    Accessors.putLong(b + 8, -2L);
    r.protectAll(AccessSet.ALL);
    assertEquals(0x7f, Accessors.getByte(b + 1));
    r.protectAll(AccessSet.ALL);
    assertEquals(0x1234, Accessors.getShort(b + 2));
    r.protectAll(AccessSet.ALL);
    assertEquals(0x89abcdef, Accessors.getInt(b + 4));
    r.protectAll(AccessSet.ALL);
    assertEquals(-2L, Accessors.getLong(b + 8));
    Region src = region(1);
    src.alias().put(0, new byte[] {1, 2, 3, 4, 5}, 0, 5);
    r.protectAll(AccessSet.WRITE);
    Accessors.copy(b + 100, src.base(), 5);
    byte[] got = new byte[5];
    r.alias().get(100, got);
    assertArrayEquals(new byte[] {1, 2, 3, 4, 5}, got);
  }

  @Test
  void theCollectorMayStepTheInstructionAndLeaveThePageProtected() {
    Region r = region(1);
    List<String> seen = new CopyOnWriteArrayList<>();
    r.setHandoff(ctx -> {
      seen.add(ctx.canStepInstruction() + " " + ctx.stepInstruction());
    }, HandoffFallback.FAIL_FAST);
    r.protectAll(AccessSet.ALL);
    r.alias().putLong(16, 99);
    Accessors.putInt(r.base() + 8, 1234);
    assertEquals(99, Accessors.getLong(r.base() + 16));
    assertEquals(List.of("true OK", "true OK"), seen);
    assertEquals(1234, r.alias().getInt(8));
    assertEquals("---", org.mpsprot.testing.OsMaps.perms(r.base()), "stepped, never opened");
  }

  @Test
  void severalParkedMutatorsAreServedInAnyOrder() throws Exception {
    Region r = region(2);
    CountDownLatch secondResolved = new CountDownLatch(1);
    List<Long> order = Collections.synchronizedList(new ArrayList<>());
    r.setHandoff(ctx -> {
      long offset = ctx.address() - ctx.region().base();
      if (offset < page) {
        // The first page's fault waits until the second page's fault was resolved.
        assertTrue(secondResolved.await(20, TimeUnit.SECONDS), "the other barrier thread served the second fault");
        ctx.region().protect(0, page, AccessSet.EMPTY);
        order.add(0L);
      } else {
        ctx.region().protect(page, page, AccessSet.EMPTY);
        order.add(1L);
        secondResolved.countDown();
      }
    }, HandoffFallback.FAIL_FAST);
    r.protectAll(AccessSet.WRITE);
    FaultCounters before = prot.counters();
    Thread first = new Thread(() -> Accessors.putLong(r.base() + 8, 1));
    first.start();
    while (prot.counters().minus(before).writeFaults() < 1) {
      Thread.sleep(1); // until the first mutator has faulted and parked
    }
    Thread second = new Thread(() -> Accessors.putLong(r.base() + page + 8, 2));
    second.start();
    first.join(30_000);
    second.join(30_000);
    assertFalse(first.isAlive() || second.isAlive(), "both mutators resumed");
    assertEquals(List.of(1L, 0L), order, "resolved in the reverse order of the faults");
    assertEquals(1, r.alias().getLong(8));
    assertEquals(2, r.alias().getLong((int) page + 8));
  }

  @Test
  void theWatchdogReportsAMutatorParkedTooLong() throws Exception {
    Region r = region(1);
    List<String> reports = new CopyOnWriteArrayList<>();
    prot.setWatchdog(Duration.ofMillis(200), reports::add);
    try {
      r.setHandoff(ctx -> {
        Thread.sleep(1500);
        ctx.region().protectAll(AccessSet.EMPTY);
      }, HandoffFallback.FAIL_FAST);
      r.protectAll(AccessSet.WRITE);
      Accessors.putLong(r.base(), 5);
      assertEquals(1, reports.size(), reports.toString());
      String report = reports.get(0);
      assertTrue(report.contains("mutator thread " + gettid() + " parked for"), report);
      assertTrue(report.contains(String.format("0x%x", r.base())), report);
    } finally {
      prot.setWatchdog(Duration.ofSeconds(5), System.err::println);
    }
  }

  /** One mutator parked about 600 ms on a fresh region (the handler sleeps before resolving). */
  private void parkOnce() {
    Region r = region(1);
    r.setHandoff(ctx -> {
      Thread.sleep(600);
      ctx.region().protectAll(AccessSet.EMPTY);
    }, HandoffFallback.FAIL_FAST);
    r.protectAll(AccessSet.WRITE);
    Accessors.putLong(r.base(), 5);
  }

  private static List<Thread> watchdogs() {
    List<Thread> found = new ArrayList<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().equals("mps-prot-watchdog") && t.isAlive()) {
        found.add(t);
      }
    }
    return found;
  }

  @Test
  void aWatchdogSinkThatThrowsIsContainedAndTheWatchdogGoesOn() throws Exception {
    List<String> reports = new CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
    prot.setWatchdog(Duration.ofMillis(100), message -> {
      if (calls.incrementAndGet() == 1) {
        throw new IllegalStateException("a sink that throws once");
      }
      reports.add(message);
    });
    try {
      parkOnce(); // reported to the sink, which throws
      assertEquals(1, calls.get(), "the first park was reported (and the sink threw)");
      parkOnce(); // the watchdog survived: reported again
      assertEquals(2, calls.get(), "the watchdog went on after its sink threw");
      assertEquals(1, reports.size(), reports.toString());
      assertTrue(reports.get(0).contains("mutator thread " + gettid() + " parked for"), reports.get(0));
      assertEquals(1, watchdogs().size(), "one watchdog thread");
    } finally {
      prot.setWatchdog(Duration.ofSeconds(5), System.err::println);
    }
  }

  @Test
  void setWatchdogRestartsAWatchdogThatIsNotRunning() throws Exception {
    prot.setWatchdog(Duration.ofSeconds(5), System.err::println); // running from here on
    List<Thread> before = watchdogs();
    assertEquals(1, before.size(), "one watchdog thread: " + before);
    before.get(0).interrupt(); // ends it
    before.get(0).join(5_000);
    assertTrue(watchdogs().isEmpty(), "the watchdog ended");
    List<String> reports = new CopyOnWriteArrayList<>();
    prot.setWatchdog(Duration.ofMillis(100), reports::add);
    try {
      assertEquals(1, watchdogs().size(), "setWatchdog started a new watchdog");
      parkOnce();
      assertEquals(1, reports.size(), reports.toString());
    } finally {
      prot.setWatchdog(Duration.ofSeconds(5), System.err::println);
    }
  }

  private static boolean inLibrary(long pc) throws Exception {
    String file = org.mpsprot.os.ShimLibrary.INSTANCE.getFile().getCanonicalPath();
    for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/maps"))) {
      if (!line.contains(" " + file)) { // JNA may have deleted its extracted copy: "(deleted)"
        continue;
      }
      String[] range = line.split(" ")[0].split("-");
      if (Long.compareUnsigned(pc, Long.parseUnsignedLong(range[0], 16)) >= 0
          && Long.compareUnsigned(pc, Long.parseUnsignedLong(range[1], 16)) < 0) {
        return true;
      }
    }
    return false;
  }
}
