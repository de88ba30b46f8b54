package org.mpsprot.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.FaultCounters;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * The write barrier never misses a write (.sol.harvest): writer threads store into
 * write-protected pages (JIT-compiled, unprotect-and-record) while a collector thread
 * repeatedly harvests and copies every reported page into a shadow. At the end every page's
 * shadow equals its contents: a page written after its last report would differ.
 * Operations: -Dmpsprot.nolost.ops (default 1,000,000).
 */
class NoLostWritesTest {
  private static final long OPS = Long.getLong("mpsprot.nolost.ops", 1_000_000);

  @ParameterizedTest
  @ValueSource(strings = {"random", "sequential"})
  void everyWrittenPageIsReported(String pattern) throws Exception {
    Prot prot = Prot.setup();
    int page = (int) prot.granularity();
    int pages = 64;
    try (Region r = prot.reserve((long) pages * page)) {
      r.setPolicy(BarrierPolicy.UNPROTECT);
      r.protectAll(AccessSet.WRITE);
      ByteBuffer view = r.mutatorView();
      ByteBuffer alias = r.alias();
      byte[][] shadow = new byte[pages][page];
      AtomicBoolean stop = new AtomicBoolean();
      java.util.concurrent.atomic.AtomicLong harvests = new java.util.concurrent.atomic.AtomicLong();
      int writers = 3;
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        int id = w;
        threads.add(new Thread(() -> {
          SplittableRandom rnd = new SplittableRandom(id * 7919L);
          long seen = 0;
          for (long i = 0; i < OPS / writers; i++) {
            int p = pattern.equals("random") ? rnd.nextInt(pages) : (int) ((i / 16 + id * 21) % pages);
            view.putLong(p * page + 8 * rnd.nextInt(page / 8), (i << 8) | id);
            if ((i & 1023) == 1023) {
              // Interleave with the collector: wait for one more harvest every 1,024 stores, so
              // that stores and harvests really race (the writers would finish first otherwise).
              while (harvests.get() == seen && !stop.get()) {
                Thread.onSpinWait();
              }
              seen = harvests.get();
            }
          }
        }));
      }
      FaultCounters before = prot.counters();
      threads.forEach(Thread::start);
      Thread collector = new Thread(() -> {
        while (!stop.get()) {
          copy(r.harvest(AccessSet.WRITE), alias, shadow, page);
          harvests.incrementAndGet();
        }
      });
      collector.start();
      for (Thread t : threads) {
        t.join();
      }
      stop.set(true);
      collector.join();
      copy(r.harvest(AccessSet.WRITE), alias, shadow, page);
      int stale = 0;
      byte[] now = new byte[page];
      for (int p = 0; p < pages; p++) {
        alias.get(p * page, now);
        if (!java.util.Arrays.equals(now, shadow[p])) {
          stale++;
        }
      }
      assertEquals(0, stale, "pages whose last writes were never reported");
      FaultCounters d = prot.counters().minus(before);
      assertTrue(d.writeFaults() > 10L * pages, "the barrier was exercised: " + d + ", " + harvests + " harvests");
      assertEquals(0, d.failFast());
    }
  }

  private static void copy(BitSet dirty, ByteBuffer alias, byte[][] shadow, int page) {
    for (int p = dirty.nextSetBit(0); p >= 0; p = dirty.nextSetBit(p + 1)) {
      alias.get(p * page, shadow[p]);
    }
  }
}
