package org.mpsprot.gc;

import java.util.BitSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.mpsprot.AccessSet;
import org.mpsprot.HandoffFallback;
import org.mpsprot.MutatorFaultContext;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * Incremental copying behind a read barrier, in the style of Appel, Ellis and Li (1988), with
 * the faults resolved by this Java collector (docs/barriers.md .heap.readbarrier).
 *
 * <ul>
 *   <li>Two semispaces, each a module region with the {@link org.mpsprot.BarrierPolicy#HANDOFF}
 *       policy. The mutator reaches the heap only through the module's native accessors
 *       ({@link AccessorMemory}), so each of its faults is taken in native state, where the
 *       module may park it (docs/design/fault.md .rule.native).
 *   <li>Flip (on the mutator thread, when its allocation area is used up): finish the running
 *       cycle if it is not finished; in the other semispace, read-protect ({@link AccessSet#ALL})
 *       a copy reserve as large as everything from-space holds; copy the objects the roots refer
 *       to and update the roots. From then on the mutator holds only to-space references.
 *   <li>The mutator's first touch of an unscanned to-space page faults and parks it; the
 *       region's {@link org.mpsprot.FaultHandler} (on the module's barrier thread) scans that
 *       page through the alias view, forwarding every from-space object its slots refer to,
 *       and opens it. So every reference the mutator can load is a to-space reference.
 *   <li>A background thread scans the other pages, one at a time; when every page below the
 *       copy pointer is scanned the cycle is complete: to-space is opened, from-space poisoned.
 *   <li>The mutator allocates downward from the top of to-space, above the copy reserve, which
 *       stays open: new objects hold only to-space references and need no scan.
 *   <li>Objects copied onto a page that is already open (the copy pointer lay in it when it was
 *       scanned) are scanned at once, before the lock is released ({@code settle}), so no
 *       unscanned slot is ever readable.
 * </ul>
 *
 * <p>Invariant, whenever the lock is free: every reference slot on an open to-space page holds
 * null or a to-space reference. Concurrency: one fair lock guards the cycle (copy pointer,
 * forwarding, page states, from-space); the flip and the finish (mutator thread), the fault
 * handler (barrier thread) and the background thread take it, and none of them touches a
 * mutator view while holding it. Allocation is the mutator's alone and takes no lock.
 */
final class IncrementalCopyingCollector implements Collector {
  private final long page;
  private final Space[] semi = new Space[2];
  private final CrossingMap[] maps = new CrossingMap[2];
  private final AccessorMemory memory = new AccessorMemory();
  private final ReentrantLock lock = new ReentrantLock(true);
  private final Condition cycleStarted = lock.newCondition();
  private final Thread background;
  private final AtomicLong handoffs = new AtomicLong();
  private final boolean scanOnFault;
  // Guarded by lock.
  private int to;
  private boolean active;
  private Evacuator ev;
  private long reserve;
  private long settled;
  private BitSet scanned = new BitSet();
  private long pagesScanned;
  private long backgroundNanos;
  private long bytesCopied;
  private long cycles;
  private long flips;
  private boolean closed;
  // The mutator thread's.
  private long allocLimit;
  private long collectorNanos;
  private volatile long epoch;

  /** A heap of two semispaces of {@code semispaceBytes} each; starts the background thread. */
  IncrementalCopyingCollector(long semispaceBytes) {
    this(semispaceBytes, true, true);
  }

  /**
   * As above, for tests: without the background thread every page is scanned by the fault
   * handler, or by the mutator when it finishes a cycle at the next flip; with
   * {@code scanOnFault} false the handler is broken on purpose (it opens the page without
   * scanning it), so that the mutator can load from-space references.
   */
  IncrementalCopyingCollector(long semispaceBytes, boolean backgroundScanning, boolean scanOnFault) {
    this.scanOnFault = scanOnFault;
    Prot prot = Prot.setup();
    this.page = prot.granularity();
    Region a = prot.reserve(semispaceBytes);
    Region b;
    try {
      b = prot.reserve(semispaceBytes);
    } catch (RuntimeException e) {
      a.close();
      throw e;
    }
    semi[0] = new Space("semi-A", a);
    semi[1] = new Space("semi-B", b);
    for (int i = 0; i < 2; i++) {
      maps[i] = new CrossingMap(semi[i].size);
      semi[i].region.setHandoff(this::handleFault, HandoffFallback.FAIL_FAST);
    }
    // Before the first flip there is no cycle: allocate the upper half, then flip.
    allocLimit = semi[0].size / 2 / page * page;
    semi[0].setCeiling(allocLimit);
    background = backgroundScanning ? new Thread(this::backgroundLoop, "mps-prot-gc-scanner") : null;
    if (background != null) {
      background.setDaemon(true);
      background.start();
    }
  }

  @Override
  public String name() {
    return "read-barrier";
  }

  @Override
  public MutatorMemory memory() {
    return memory;
  }

  @Override
  public long allocate(int type, int refs, int words, Roots roots) {
    long bytes = (long) words * ObjectLayout.WORD;
    if (bytes > semi[to].size / 8) {
      throw new IllegalArgumentException("an object of " + bytes + " bytes exceeds an eighth of a semispace ("
          + semi[to].size + " bytes); this heap has no large-object space");
    }
    long at = semi[to].bumpDown(bytes, allocLimit);
    if (at == 0) {
      collect(roots, false);
      at = semi[to].bumpDown(bytes, allocLimit);
      if (at == 0) {
        throw new HeapExhaustedException("after a flip, an allocation of " + bytes + " bytes does not fit above"
            + " the copy reserve of " + reserve + " bytes in a " + semi[to].size
            + "-byte semispace: give the semispaces more room");
      }
    }
    Space t = semi[to];
    t.aliasStore(at, ObjectLayout.header(type, refs, words));
    for (int i = 1; i < words; i++) {
      t.aliasStore(at + (long) i * ObjectLayout.WORD, 0);
    }
    return at;
  }

  @Override
  public void afterReferenceStore(long slot) {
    // A read barrier: stores need nothing.
  }

  /** Finishes the running cycle (if any), then flips. Mutator thread only. */
  @Override
  public void collect(Roots roots, boolean full) {
    long t0 = System.nanoTime();
    lock.lock();
    try {
      if (active) {
        while (scanNextPage()) {
          // the mutator finishes the cycle itself
        }
        complete();
      }
      flip(roots);
    } finally {
      lock.unlock();
      collectorNanos += System.nanoTime() - t0;
    }
  }

  /** Lock held, no cycle active. */
  private void flip(Roots roots) {
    int next = 1 - to;
    Space f = semi[to];
    Space t = semi[next];
    long r = (f.used() + page - 1) / page * page;
    if (r > t.size - page) {
      throw new HeapExhaustedException("from-space holds " + f.used() + " bytes: a copy reserve that large leaves"
          + " less than a page to allocate in a " + t.size + "-byte semispace; give the semispaces more room");
    }
    t.reset();
    t.setCeiling(r);
    maps[next].clear();
    if (r > 0) {
      t.region.protect(0, r, AccessSet.ALL);
    }
    reserve = r;
    scanned = new BitSet();
    to = next;
    ev = new Evacuator(t, maps[next], f);
    settled = t.base;
    for (int i = 0, n = roots.count(); i < n; i++) {
      long v = roots.get(i);
      long nv = ev.forward(v);
      if (nv != v) {
        roots.set(i, nv);
      }
    }
    settle();
    allocLimit = r;
    active = true;
    flips++;
    epoch++;
    cycleStarted.signalAll();
  }

  /** Scans the lowest unscanned page below the copy pointer; false when none is left. Lock held. */
  private boolean scanNextPage() {
    int p = scanned.nextClearBit(0);
    if ((long) p * page >= semi[to].top()) {
      return false;
    }
    scanPage(p);
    return true;
  }

  /** Scans page {@code p} of to-space through the alias, opens it, settles. Lock held. */
  private void scanPage(int p) {
    if (scanned.get(p)) {
      return;
    }
    Space t = semi[to];
    long start = (long) p * page;
    ev.scanRange(t.base + start, t.base + start + page);
    scanned.set(p);
    pagesScanned++;
    settle();
    t.region.protect(start, page, AccessSet.EMPTY);
  }

  /**
   * Scans, in every object copied since the last call, the slots that lie on pages already
   * scanned (open, or about to be): those objects were copied onto a page the mutator can read.
   * Each object is visited once; what it copies is visited in turn. Lock held.
   */
  private void settle() {
    Space t = semi[to];
    while (settled < t.topAddress()) {
      long object = settled;
      long header = t.aliasLoad(object);
      long lo = ObjectLayout.refSlot(object, 0);
      long hi = ObjectLayout.refSlot(object, ObjectLayout.refs(header));
      for (long at = lo; at < hi; at = (at - t.base) / page * page + page + t.base) {
        int p = (int) ((at - t.base) / page);
        if (scanned.get(p)) {
          ev.scanSlots(object, header, at, Math.min(hi, t.base + (long) (p + 1) * page));
        }
      }
      settled = object + (long) ObjectLayout.sizeWords(header) * ObjectLayout.WORD;
    }
  }

  /** Every page below the copy pointer is scanned: open to-space, poison from-space. Lock held. */
  private void complete() {
    Space t = semi[to];
    Space f = semi[1 - to];
    if (reserve > 0) {
      t.region.protect(0, reserve, AccessSet.EMPTY);
    }
    f.poisonAndReset();
    maps[1 - to].clear();
    bytesCopied += ev.bytesCopied();
    ev = null;
    active = false;
    cycles++;
    epoch++;
  }

  /** The regions' FaultHandler: on the module's barrier thread, while the mutator is parked. */
  private void handleFault(MutatorFaultContext ctx) {
    long t0 = System.nanoTime();
    lock.lock();
    try {
      handoffs.incrementAndGet();
      Space t = semi[to];
      if (active && ctx.region() == t.region) {
        long offset = ctx.address() - t.base;
        if (offset < reserve && scanOnFault) {
          scanPage((int) (offset / page));
        } else if (offset < reserve) {
          t.region.protect(offset / page * page, page, AccessSet.EMPTY); // broken on purpose
        }
      }
      // Otherwise the cycle completed between the fault and now: the page is open already.
    } finally {
      backgroundNanos += System.nanoTime() - t0;
      lock.unlock();
    }
  }

  private void backgroundLoop() {
    while (true) {
      lock.lock();
      try {
        while (!active && !closed) {
          cycleStarted.await(100, TimeUnit.MILLISECONDS);
        }
        if (closed) {
          return;
        }
        long t0 = System.nanoTime();
        if (!scanNextPage()) {
          complete();
        }
        backgroundNanos += System.nanoTime() - t0;
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException | Error e) {
        System.err.println("mps-prot gc: the background scanner failed; the mutator will finish the cycle: " + e);
        return;
      } finally {
        lock.unlock();
      }
    }
  }

  @Override
  public long epoch() {
    return epoch;
  }


  @Override
  public <T> T inspect(Function<HeapInspector, T> body) {
    lock.lock();
    try {
      Space t = semi[to];
      Space f = semi[1 - to];
      boolean lenient = active;
      return body.apply(new HeapInspector() {
        @Override
        public long resolve(long ref) {
          if ((ref & 7) == 0 && t.isAllocated(ref)) {
            return ref;
          }
          if (lenient && (ref & 7) == 0 && f.isAllocated(ref)) {
            long header = f.aliasLoad(ref);
            return ObjectLayout.isForwarded(header) ? ObjectLayout.forwardee(header) : ref;
          }
          String where = t.contains(ref) ? "an unallocated part of to-space"
              : f.contains(ref) ? (lenient ? "an unallocated part of from-space" : "the evacuated from-space")
              : "no space of the heap";
          throw new HeapVerificationException(String.format("a live reference 0x%x points into %s", ref, where));
        }

        @Override
        public long load(long address) {
          return (t.contains(address) ? t : f).aliasLoad(address);
        }
      });
    } finally {
      lock.unlock();
    }
  }

  @Override
  public CollectorStats stats() {
    lock.lock();
    try {
      return new CollectorStats(cycles, 0, flips, handoffs.get(), pagesScanned, pagesScanned * page, collectorNanos, backgroundNanos,
          bytesCopied + (ev == null ? 0 : ev.bytesCopied()));
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      cycleStarted.signalAll();
    } finally {
      lock.unlock();
    }
    try {
      if (background != null) {
        background.join(10_000);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    semi[0].region.close();
    semi[1].region.close();
  }
}
