package org.mpsprot.barrier;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.mpsprot.Region;

/**
 * What every {@link Tracker} shares: range checks, the syscall windows that hold harvests off
 * (.tracker.syscall), the serialisation of harvests, the hit counter and closing. A strategy
 * supplies {@link #harvestGranules()}, {@link #prepareGranules} and {@link #release()}.
 *
 * <p>Concurrency: one monitor guards the window count and the harvesting flag; a harvest waits
 * until no window is open, and a window waits until no harvest runs, so a prepared buffer is
 * never re-armed before its window closes.
 */
abstract class AbstractTracker implements Tracker {
  /** Compare-and-set of a long in a direct buffer: an atomic write that changes nothing. */
  private static final VarHandle LONGS =
      MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
  /** The regions that have a tracker: at most one each. */
  private static final Map<Region, AbstractTracker> ATTACHED = Collections.synchronizedMap(new IdentityHashMap<>());

  private final Region region;
  private final String strategy;
  private final long granule;
  private final AtomicLong hits = new AtomicLong();
  private final Object monitor = new Object();
  private final Map<Thread, Integer> windowsByThread = new HashMap<>();
  private int windows;
  private boolean harvesting;
  /** Open pins (.tracker.pinned): granule range [from, to) each; guarded by monitor. */
  private final Map<Object, long[]> pins = new IdentityHashMap<>();
  /** Granules of pins closed since the last harvest: reported once more; guarded by monitor. */
  private final BitSet unpinned = new BitSet();
  private volatile boolean closed;

  AbstractTracker(Region region, String strategy, long granule) {
    this.region = Objects.requireNonNull(region, "region");
    this.strategy = strategy;
    this.granule = granule;
  }

  /**
   * Registers {@code tracker} as its region's only tracker.
   *
   * @throws IllegalStateException if the region has one already
   */
  static void claim(AbstractTracker tracker) {
    AbstractTracker other = ATTACHED.putIfAbsent(tracker.region, tracker);
    if (other != null) {
      throw new IllegalStateException("region " + tracker.region + " is tracked already by the " + other
          + "; close that tracker first (one tracker per region)");
    }
  }

  /**
   * Claims the region for {@code tracker} ({@link #claim}), then arms it with {@code arm}; if
   * arming fails the tracker is closed (the claim released) and the exception rethrown.
   */
  static <T extends AbstractTracker> T claimAndArm(T tracker, java.util.function.Consumer<T> arm) {
    claim(tracker);
    try {
      arm.accept(tracker);
    } catch (RuntimeException e) {
      tracker.close();
      throw e;
    }
    return tracker;
  }

  @Override
  public final Region region() {
    return region;
  }

  @Override
  public final String strategy() {
    return strategy;
  }

  @Override
  public final long granule() {
    return granule;
  }

  @Override
  public long hits() {
    return hits.get();
  }

  /** Adds {@code n} barrier hits. */
  final void countHits(long n) {
    hits.addAndGet(n);
  }

  @Override
  public final BitSet harvest() {
    synchronized (monitor) {
      ensureOpen();
      if (windowsByThread.containsKey(Thread.currentThread())) {
        throw new IllegalStateException("harvest of " + this + " from a thread that holds an open syscall"
            + " window: it would wait for itself; close the window first");
      }
      while (windows > 0 || harvesting) {
        awaitMonitor();
      }
      harvesting = true;
    }
    try {
      BitSet dirty = harvestGranules();
      synchronized (monitor) { // pinned buffers are never trusted clean (.tracker.pinned)
        for (long[] p : pins.values()) {
          dirty.set((int) p[0], (int) p[1]);
        }
        dirty.or(unpinned);
        unpinned.clear();
      }
      return dirty;
    } finally {
      synchronized (monitor) {
        harvesting = false;
        monitor.notifyAll();
      }
    }
  }

  @Override
  public final KernelPin pinForKernel(long address, long length) {
    if (length <= 0 || address < region.base() || address > region.limit() - length) {
      throw new IllegalArgumentException(String.format(
          "pinForKernel(0x%x, %d): not a non-empty range inside region %s", address, length, region));
    }
    long[] range = {(address - region.base()) / granule, (address + length - 1 - region.base()) / granule + 1};
    Object key = new Object();
    synchronized (monitor) {
      ensureOpen();
      pins.put(key, range);
    }
    return new KernelPin() {
      @Override
      public void close() {
        synchronized (monitor) {
          if (pins.remove(key) != null) {
            unpinned.set((int) range[0], (int) range[1]);
          }
        }
      }

      @Override
      public String toString() {
        return "kernel pin of granules [" + range[0] + ", " + range[1] + ") of " + AbstractTracker.this;
      }
    };
  }

  /** The strategy's harvest; runs with no window open and no other harvest running. */
  abstract BitSet harvestGranules();

  @Override
  public final SyscallWindow prepareForSyscall(long address, long length) {
    if (length <= 0 || address < region.base() || address > region.limit() - length) {
      throw new IllegalArgumentException(String.format(
          "prepareForSyscall(0x%x, %d): not a non-empty range inside region %s", address, length, region));
    }
    Thread owner = Thread.currentThread();
    synchronized (monitor) {
      ensureOpen();
      while (harvesting) {
        awaitMonitor();
      }
      windows++;
      windowsByThread.merge(owner, 1, Integer::sum);
    }
    long first = (address - region.base()) / granule;
    long last = (address + length - 1 - region.base()) / granule;
    prepareGranules(first, last + 1);
    return new SyscallWindow() {
      private boolean done;

      @Override
      public void close() {
        synchronized (monitor) {
          if (done) {
            return;
          }
          done = true;
          windows--;
          windowsByThread.computeIfPresent(owner, (t, n) -> n == 1 ? null : n - 1);
          monitor.notifyAll();
        }
        afterSyscall(first, last + 1);
      }
    };
  }

  /**
   * Makes granules {@code [first, limit)} writable by the kernel and records them dirty. The
   * default writes each page once, atomically and without changing it, through the mutator's
   * view: the hardware strategies then record the page as a mutator write would.
   */
  void prepareGranules(long first, long limit) {
    ByteBuffer view = region.mutatorView();
    long page = region.size() / region.pages();
    long from = first * granule / page;
    long to = (limit * granule + page - 1) / page;
    for (long p = from; p < to; p++) {
      touch(view, (int) (p * page));
    }
  }

  /** Called when a window over granules {@code [first, limit)} closes; nothing by default. */
  void afterSyscall(long first, long limit) {}

  /** One atomic write of the value already there: the page faults or is marked as written. */
  static void touch(ByteBuffer view, int offset) {
    long v = (long) LONGS.getVolatile(view, offset);
    while (!LONGS.compareAndSet(view, offset, v, v)) {
      v = (long) LONGS.getVolatile(view, offset);
    }
  }

  private void awaitMonitor() {
    try {
      monitor.wait();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for a harvest or a syscall window of " + this, e);
    }
  }

  final void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("tracker " + this + " was closed");
    }
  }

  final boolean isClosed() {
    return closed;
  }

  @Override
  public final void close() {
    synchronized (monitor) {
      if (closed) {
        return;
      }
      while (harvesting) {
        awaitMonitor();
      }
      closed = true;
    }
    try {
      if (!region.isClosed()) {
        release();
      }
    } finally {
      ATTACHED.remove(region, this);
    }
  }

  /** Stops the strategy's tracking of the (still open) region. */
  abstract void release();

  @Override
  public String toString() {
    return strategy + " tracker of " + region;
  }
}
