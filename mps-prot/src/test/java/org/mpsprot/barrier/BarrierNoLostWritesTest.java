package org.mpsprot.barrier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * No write is lost (.tracker.harvest), for every strategy: three writer threads store into the
 * tracked region (JIT-compiled stores through the mutator's view, then the store path's
 * {@code onStore}) while a harvesting thread repeatedly harvests and copies each reported
 * granule from the alias view into a shadow. After the writers stop and a last harvest, every
 * granule's shadow must equal its contents: a granule written after its last report would
 * differ. The writers go on until at least 100 harvests found writes since they started, so
 * writing and harvesting really overlap. Unavailable strategies must say why and refuse to
 * attach with that reason. The checker itself is shown to catch a barrier that drops a granule.
 * Stores per run: -Dmpsprot.barrier.ops (default 300,000).
 */
class BarrierNoLostWritesTest {
  private static final long OPS = Long.getLong("mpsprot.barrier.ops", 300_000);
  private static final long MIN_FRUITFUL = 100;
  private static final int PAGES = 64;

  /** What one run found. */
  record Outcome(int stale, long harvests, long fruitful, long hits) {}

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"fault, random", "fault, sequential", "uffd, random", "uffd, sequential",
      "soft-dirty, random", "soft-dirty, sequential", "cards, random", "cards, sequential",
      "cards-page, random", "cards-page, sequential"})
  void everyWriteIsHarvested(String name, String pattern) throws Exception {
    WriteBarrierStrategy strategy = Strategies.byName(name);
    Prot prot = Prot.setup();
    try (Region r = prot.reserve(PAGES * prot.granularity())) {
      Availability a = strategy.availability();
      if (!a.available()) {
        assertFalse(a.reason().isBlank());
        StrategyUnavailableException e = assertThrows(StrategyUnavailableException.class, () -> strategy.attach(r));
        assertTrue(e.getMessage().contains(a.reason()), e.getMessage());
        System.out.println("strategy " + name + " unavailable, reported: " + a.reason());
        return;
      }
      Outcome o = writeAndHarvest(strategy, r, pattern);
      System.out.printf("strategy %s %s: %s%n", name, pattern, o);
      assertEquals(0, o.stale(), name + ": granules whose last writes were never reported");
      assertTrue(o.fruitful() >= MIN_FRUITFUL, "harvests that found writes: " + o.fruitful());
      assertTrue(o.hits() >= PAGES, name + ": the barrier was exercised, hits " + o.hits());
    }
  }

  /** The checker can fail: a barrier that drops one granule per harvest leaves stale granules. */
  @Test
  void aBarrierThatDropsAGranuleIsCaught() throws Exception {
    Prot prot = Prot.setup();
    try (Region r = prot.reserve(PAGES * prot.granularity())) {
      BrokenStrategy broken = new BrokenStrategy(new CardMarkingStrategy());
      Outcome o = writeAndHarvest(broken, r, "random");
      assertTrue(broken.dropped() > 0);
      assertTrue(o.stale() > 0, "the dropped granules were noticed: " + o);
    }
  }

  static Outcome writeAndHarvest(WriteBarrierStrategy strategy, Region r, String pattern) throws Exception {
    int page = (int) (r.size() / r.pages());
    try (Tracker t = strategy.attach(r)) {
      int g = (int) t.granule();
      int granules = (int) t.granules();
      byte[][] shadow = new byte[granules][g];
      ByteBuffer view = r.mutatorView();
      ByteBuffer alias = r.alias();
      // A strategy whose harvest needs the writers stopped: they hold the read side.
      ReentrantReadWriteLock stopped = strategy.harvestNeedsStoppedMutators() ? new ReentrantReadWriteLock() : null;
      AtomicBoolean done = new AtomicBoolean();
      AtomicLong harvests = new AtomicLong();
      AtomicLong fruitful = new AtomicLong();
      List<Thread> writers = new ArrayList<>();
      int n = 3;
      for (int w = 0; w < n; w++) {
        int id = w;
        writers.add(new Thread(() -> {
          SplittableRandom rnd = new SplittableRandom(id * 7919L + pattern.hashCode());
          long before = fruitful.get();
          for (long i = 0; i < OPS / n || fruitful.get() - before < MIN_FRUITFUL; i++) {
            int p = pattern.equals("random") ? rnd.nextInt(PAGES) : (int) ((i / 16 + id * 21) % PAGES);
            int offset = p * page + 8 * rnd.nextInt(page / 8);
            if (stopped != null) {
              stopped.readLock().lock();
            }
            view.putLong(offset, (i << 8) | id);
            t.onStore(r.base() + offset);
            if (stopped != null) {
              stopped.readLock().unlock();
            }
          }
        }));
      }
      Thread harvester = new Thread(() -> {
        while (!done.get()) {
          if (harvestInto(t, stopped, alias, shadow, g) > 0) {
            fruitful.incrementAndGet();
          }
          harvests.incrementAndGet();
        }
      });
      harvester.start();
      writers.forEach(Thread::start);
      for (Thread w : writers) {
        w.join();
      }
      done.set(true);
      harvester.join();
      harvestInto(t, null, alias, shadow, g);
      int stale = 0;
      byte[] now = new byte[g];
      for (int i = 0; i < granules; i++) {
        alias.get(i * g, now);
        if (!Arrays.equals(now, shadow[i])) {
          stale++;
        }
      }
      return new Outcome(stale, harvests.get(), fruitful.get(), t.hits());
    }
  }

  /** Harvests and copies every reported granule into the shadow; returns how many. */
  private static int harvestInto(Tracker t, ReentrantReadWriteLock stopped, ByteBuffer alias, byte[][] shadow, int g) {
    if (stopped != null) {
      stopped.writeLock().lock();
    }
    try {
      BitSet dirty = t.harvest();
      for (int i = dirty.nextSetBit(0); i >= 0; i = dirty.nextSetBit(i + 1)) {
        alias.get(i * g, shadow[i]);
      }
      return dirty.cardinality();
    } finally {
      if (stopped != null) {
        stopped.writeLock().unlock();
      }
    }
  }
}
