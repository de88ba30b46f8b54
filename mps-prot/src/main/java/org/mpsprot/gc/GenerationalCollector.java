package org.mpsprot.gc;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.function.Function;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.barrier.Tracker;
import org.mpsprot.barrier.WriteBarrierStrategy;

/**
 * A generational copying collector whose remembered set is a write-barrier strategy's dirty
 * granules (docs/barriers.md .heap.generational).
 *
 * <ul>
 *   <li>Spaces: a nursery (never tracked) and two old semispaces, each its own module region
 *       with its own {@link Tracker}. The mutator allocates in the nursery and reads and writes
 *       every space through the mutator views ({@link ViewMemory}), so the hardware strategies
 *       see its writes to old objects; the collector works only through the alias views, which
 *       no strategy sees.
 *   <li>Minor collection: harvest the current old space's tracker, forward the roots, scan the
 *       reference slots that lie in the dirty granules (found with the {@link CrossingMap}),
 *       then Cheney-scan what was promoted. All survivors are promoted en masse, so after a
 *       minor collection no old object refers into the nursery, and the next remembered set is
 *       exactly the granules written since. The evacuated nursery is filled with
 *       {@link ObjectLayout#POISON}.
 *   <li>Major collection (when the old space has less room than the nursery holds): copy
 *       everything live into the other old semispace, poison the one left, discard both
 *       trackers' stale granules.
 * </ul>
 *
 * <p>Stop-the-world: every method runs on the one mutator thread. A strategy that needs the
 * mutators stopped for its harvest (soft-dirty) is therefore fine here.
 */
final class GenerationalCollector implements Collector {
  private final String name;
  private final long page;
  private final Space nursery;
  private final Space[] old = new Space[2];
  private final Tracker[] trackers = new Tracker[2];
  private final CrossingMap[] maps = new CrossingMap[2];
  private final ViewMemory memory;
  private int cur;
  private long epoch;
  private long minor;
  private long major;
  private long pagesScanned;
  private long bytesScanned;
  private long collectorNanos;
  private long bytesCopied;

  /**
   * A heap of a {@code nurseryBytes} nursery and two {@code oldBytes} old semispaces whose
   * writes {@code strategy} tracks.
   *
   * @throws org.mpsprot.barrier.StrategyUnavailableException if the strategy does not work here
   */
  GenerationalCollector(WriteBarrierStrategy strategy, long nurseryBytes, long oldBytes) {
    this.name = strategy.name();
    Prot prot = Prot.setup();
    this.page = prot.granularity();
    List<AutoCloseable> made = new ArrayList<>();
    try {
      Region n = prot.reserve(nurseryBytes);
      made.add(n);
      nursery = new Space("nursery", n);
      for (int i = 0; i < 2; i++) {
        Region r = prot.reserve(oldBytes);
        made.add(r);
        old[i] = new Space("old-" + (char) ('A' + i), r);
        maps[i] = new CrossingMap(r.size());
        trackers[i] = strategy.attach(r);
        made.add(0, trackers[i]);
      }
    } catch (RuntimeException e) {
      for (AutoCloseable c : made) {
        try {
          c.close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
    memory = new ViewMemory(nursery, old[0], old[1]);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public MutatorMemory memory() {
    return memory;
  }

  @Override
  public long allocate(int type, int refs, int words, Roots roots) {
    long bytes = (long) words * ObjectLayout.WORD;
    if (bytes > nursery.size / 4) {
      throw new IllegalArgumentException("an object of " + bytes + " bytes exceeds a quarter of the nursery ("
          + nursery.size + " bytes); this heap has no large-object space");
    }
    long at = nursery.bump(bytes);
    if (at == 0) {
      collect(roots, false);
      at = nursery.bump(bytes);
    }
    nursery.aliasStore(at, ObjectLayout.header(type, refs, words));
    for (int i = 1; i < words; i++) {
      nursery.aliasStore(at + (long) i * ObjectLayout.WORD, 0);
    }
    return at;
  }

  @Override
  public void afterReferenceStore(long slot) {
    Space o = old[cur];
    if (o.contains(slot)) {
      trackers[cur].onStore(slot);
    }
  }

  @Override
  public void collect(Roots roots, boolean full) {
    long t0 = System.nanoTime();
    try {
      if (full || old[cur].free() < nursery.top()) {
        major(roots);
      } else {
        minor(roots);
      }
    } finally {
      collectorNanos += System.nanoTime() - t0;
      epoch++;
    }
  }

  private void minor(Roots roots) {
    Space o = old[cur];
    Tracker t = trackers[cur];
    BitSet dirty = t.harvest();
    Evacuator ev = new Evacuator(o, maps[cur], nursery);
    long scan = o.topAddress();
    forwardRoots(ev, roots);
    long g = t.granule();
    long lastPage = -1;
    for (int i = dirty.nextSetBit(0); i >= 0; i = dirty.nextSetBit(i + 1)) {
      long lo = o.base + i * g;
      ev.scanRange(lo, lo + g);
      bytesScanned += g;
      long p = i * g / page;
      if (p != lastPage) {
        pagesScanned++;
        lastPage = p;
      }
    }
    ev.scanFrom(scan);
    evacuated(nursery);
    bytesCopied += ev.bytesCopied();
    minor++;
  }

  private void major(Roots roots) {
    int other = 1 - cur;
    Space to = old[other];
    to.reset();
    maps[other].clear();
    trackers[other].harvest(); // nothing the mutator wrote there is alive: forget it
    Evacuator ev = new Evacuator(to, maps[other], nursery, old[cur]);
    forwardRoots(ev, roots);
    ev.scanFrom(to.base);
    evacuated(nursery);
    evacuated(old[cur]);
    maps[cur].clear();
    trackers[cur].harvest(); // its granules describe dead objects now
    cur = other;
    bytesCopied += ev.bytesCopied();
    major++;
    if (to.free() < nursery.size) {
      throw new HeapExhaustedException("after a major collection " + to.top() + " bytes are live in an old"
          + " space of " + to.size + ": less room is left than one nursery (" + nursery.size
          + " bytes); give the old generation more room");
    }
  }

  private static void forwardRoots(Evacuator ev, Roots roots) {
    for (int i = 0, n = roots.count(); i < n; i++) {
      long v = roots.get(i);
      long nv = ev.forward(v);
      if (nv != v) {
        roots.set(i, nv);
      }
    }
  }

  /** Poisons what was allocated in an evacuated space and empties it. */
  private static void evacuated(Space s) {
    s.poisonAndReset();
  }

  @Override
  public long epoch() {
    return epoch;
  }


  @Override
  public <T> T inspect(Function<HeapInspector, T> body) {
    return body.apply(new HeapInspector() {
      @Override
      public long resolve(long ref) {
        if (nursery.isAllocated(ref) || old[cur].isAllocated(ref)) {
          return ref;
        }
        String where = nursery.contains(ref) ? "the evacuated part of the nursery"
            : old[cur].contains(ref) ? "the free part of " + old[cur].name
            : old[1 - cur].contains(ref) ? "the evacuated old space " + old[1 - cur].name : "no space of the heap";
        throw new HeapVerificationException(String.format("a live reference 0x%x points into %s", ref, where));
      }

      @Override
      public long load(long address) {
        Space s = nursery.contains(address) ? nursery : old[cur].contains(address) ? old[cur] : old[1 - cur];
        return s.aliasLoad(address);
      }
    });
  }

  @Override
  public CollectorStats stats() {
    long hits = trackers[0].hits() + trackers[1].hits();
    return new CollectorStats(minor + major, minor, major, hits, pagesScanned, bytesScanned, collectorNanos, 0, bytesCopied);
  }

  @Override
  public void close() {
    for (int i = 0; i < 2; i++) {
      if (trackers[i] != null) {
        trackers[i].close();
      }
    }
    nursery.region.close();
    old[0].region.close();
    old[1].region.close();
  }
}
