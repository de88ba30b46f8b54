package org.mpsprot.core;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.mpsprot.AccessSet;
import org.mpsprot.Prot;
import org.mpsprot.ProtBatch;
import org.mpsprot.Region;
import org.mpsprot.SyncReport;
import org.mpsprot.SyncReport.Difference;
import org.mpsprot.SyncReport.View;
import org.mpsprot.model.ProtModel;
import org.mpsprot.model.RangeRules;
import org.mpsprot.os.ProtOs;
import org.mpsprot.os.ProtOs.Mapping;

/**
 * The generic protection module over one {@link ProtOs} (docs/design/prot.md). It keeps the
 * live regions, checks every request against {@link RangeRules}, makes one OS call per request
 * (fewer through {@link #batch()}), and keeps the shim's record equal to the OS's protection.
 *
 * <p>Concurrency: one lock serialises every protection change, region creation and closing,
 * and sync; region lookup for a request happens under it too, so a region cannot be closed
 * while a change to it is in flight.
 */
public final class ProtModule implements Prot {
  private static final Object SETUP_LOCK = new Object();
  private static volatile ProtModule instance;

  private final ProtOs os;
  private final long granularity;
  private final ReentrantLock lock = new ReentrantLock();
  private final ConcurrentSkipListMap<Long, RegionImpl> regions =
      new ConcurrentSkipListMap<>(Long::compareUnsigned);
  private final AtomicLong osCalls = new AtomicLong();
  private final java.util.concurrent.ConcurrentHashMap<Integer, RegionImpl> bySlot =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final BarrierService barrier;

  private ProtModule(ProtOs os) {
    this.os = os;
    this.granularity = os.pageSize();
    this.barrier = new BarrierService(this, os);
  }

  /** ProtSetup: the process's module, made on first use (.if.setup). */
  public static ProtModule instance() {
    ProtModule m = instance;
    if (m == null) {
      synchronized (SETUP_LOCK) {
        m = instance;
        if (m == null) {
          ProtOs os = ProtOs.current();
          os.setup();
          m = new ProtModule(os);
          instance = m;
        }
      }
    }
    return m;
  }

  ProtOs os() {
    return os;
  }

  @Override
  public long granularity() {
    return granularity;
  }

  @Override
  public Region reserve(long size) {
    long rounded = RangeRules.roundUpSize(size, granularity);
    lock.lock();
    try {
      os.setup(); // re-installs the handler after uninstallHandler(); idempotent otherwise
      ProtOs.NativeRegion nat = os.createRegion(rounded);
      try {
        long record = os.recordAddress(nat.slot());
        if (record == 0) {
          throw new IllegalStateException("reserve(" + size + "): the shim has no record for slot "
              + nat.slot() + " right after creating it");
        }
        RegionImpl r = new RegionImpl(this, nat, os.buffer(record, rounded / granularity));
        regions.put(nat.base(), r);
        bySlot.put(nat.slot(), r);
        return r;
      } catch (RuntimeException | Error e) {
        // Nothing stays behind: no slot, no mapping, no entry (so uninstallHandler still works).
        regions.remove(nat.base());
        bySlot.remove(nat.slot());
        try {
          os.destroyRegion(nat.slot());
        } catch (RuntimeException d) {
          e.addSuppressed(d);
        }
        throw e;
      }
    } finally {
      lock.unlock();
    }
  }

  void close(RegionImpl r) {
    lock.lock();
    try {
      if (r.isClosed()) {
        return;
      }
      regions.remove(r.base());
      bySlot.remove(r.nat.slot());
      r.markClosed();
      os.destroyRegion(r.nat.slot());
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void set(long base, long limit, AccessSet mode) {
    Objects.requireNonNull(mode, "mode");
    RangeRules.checkBounds("ProtSet", base, limit, granularity);
    lock.lock();
    try {
      applyRun(owner(base, limit), base, limit, mode.bits());
    } finally {
      lock.unlock();
    }
  }

  private RegionImpl owner(long base, long limit) {
    return RangeRules.owner("ProtSet", regions, Region::limit, base, limit);
  }

  /** One OS call; on failure the record is made to equal the OS again (.sol.restore). */
  private void applyRun(RegionImpl r, long base, long limit, int bits) {
    int[] restoreFailed = new int[1];
    osCalls.incrementAndGet();
    int err = os.protect(r.nat.slot(), base - r.base(), limit - base, bits, restoreFailed);
    if (err != 0) {
      if (restoreFailed[0] != 0) {
        adoptOsState(r);
      }
      throw os.failure(
          String.format("ProtSet [0x%x, 0x%x) %s", base, limit, AccessSet.fromBits(bits)), err, base, limit);
    }
  }

  /**
   * The last resort when the shim could not restore: the record takes the OS's protection. The
   * shim holds every page of the record meanwhile, so no fault handler changes a page between
   * the reading of the OS's state and the writing of the record.
   */
  private void adoptOsState(RegionImpl r) {
    if (os.holdRecord(r.nat.slot()) != 0) {
      return; // the region is gone: nothing to adopt
    }
    byte[] modes = new byte[(int) r.pages()];
    for (int p = 0; p < modes.length; p++) {
      modes[p] = (byte) recordBits(r, p); // kept as they are if the OS cannot be read
    }
    try {
      List<Mapping> maps = os.mappings();
      for (int p = 0; p < modes.length; p++) {
        Mapping m = find(maps, r.base() + p * granularity);
        modes[p] = (byte) (m == null || !m.read() ? AccessSet.ALL.bits() : m.write() ? 0 : AccessSet.WRITE.bits());
      }
    } finally {
      os.releaseRecord(r.nat.slot(), modes);
    }
  }

  /** The AccessSet bits recorded for page p (the shim's BUSY bit masked off). */
  private static int recordBits(RegionImpl r, long p) {
    return r.record.get((int) p) & AccessSet.ALL.bits();
  }

  @Override
  public AccessSet recordedMode(long address) {
    lock.lock();
    try {
      RegionImpl r = RangeRules.owner("recordedMode", regions, Region::limit, address, address + 1);
      return AccessSet.fromBits(recordBits(r, (address - r.base()) / granularity));
    } finally {
      lock.unlock();
    }
  }

  @Override
  public SyncReport sync() {
    lock.lock();
    try {
      List<Difference> found = compare(os.mappings());
      for (Difference d : found) {
        RegionImpl r = regions.get(d.regionBase());
        if (d.actual().equals("unmapped")) {
          continue; // the memory is gone: nothing the module can re-apply
        }
        if (d.view() == View.MUTATOR) {
          int bits = recordBits(r, (d.base() - r.base()) / granularity);
          applyRun(r, d.base(), d.limit(), bits);
        } else {
          osCalls.incrementAndGet();
          int err = os.resetAlias(r.nat.slot());
          if (err != 0) {
            throw os.failure(String.format("ProtSync: reset of the alias view of %s", r), err,
                r.aliasBase(), r.aliasBase() + r.size());
          }
        }
      }
      List<Difference> left = found.isEmpty() ? List.of() : compare(os.mappings());
      List<Difference> report = new ArrayList<>(found.size());
      for (Difference d : found) {
        boolean still = left.stream().anyMatch(x -> x.view() == d.view()
            && Long.compareUnsigned(x.base(), d.limit()) < 0 && Long.compareUnsigned(d.base(), x.limit()) < 0);
        report.add(new Difference(d.regionBase(), d.view(), d.base(), d.limit(), d.expected(), d.actual(), !still));
      }
      long pages = 0;
      for (RegionImpl r : regions.values()) {
        pages += 2 * r.pages();
      }
      return new SyncReport(regions.size(), pages, report);
    } finally {
      lock.unlock();
    }
  }

  /** Runs of pages whose OS protection differs from the record, per region and view. */
  private List<Difference> compare(List<Mapping> maps) {
    List<Difference> out = new ArrayList<>();
    for (RegionImpl r : regions.values()) {
      compareView(r, View.MUTATOR, r.base(), maps, out);
      compareView(r, View.ALIAS, r.aliasBase(), maps, out);
    }
    return out;
  }

  private void compareView(RegionImpl r, View view, long start, List<Mapping> maps, List<Difference> out) {
    long runStart = -1;
    String runExpected = null;
    String runActual = null;
    int runBits = -1;
    long pages = r.pages();
    for (long p = 0; p <= pages; p++) {
      String expected = null;
      String actual = null;
      int bits = -1;
      if (p < pages) {
        bits = view == View.MUTATOR ? recordBits(r, p) : 0;
        expected = ProtModel.perms(AccessSet.fromBits(bits));
        Mapping m = find(maps, start + p * granularity);
        actual = m == null ? "unmapped" : m.perms();
      }
      boolean differs = expected != null && !expected.equals(actual);
      boolean sameRun = differs && runStart >= 0 && bits == runBits && actual.equals(runActual);
      if (runStart >= 0 && !sameRun) {
        out.add(new Difference(r.base(), view, start + runStart * granularity, start + p * granularity,
            runExpected, runActual, false));
        runStart = -1;
      }
      if (differs && runStart < 0) {
        runStart = p;
        runExpected = expected;
        runActual = actual;
        runBits = bits;
      }
    }
  }

  /** The mapping containing address, by binary search over the sorted list, or null. */
  private static Mapping find(List<Mapping> maps, long address) {
    int lo = 0;
    int hi = maps.size() - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      Mapping m = maps.get(mid);
      if (Long.compareUnsigned(address, m.start()) < 0) {
        hi = mid - 1;
      } else if (Long.compareUnsigned(address, m.end()) >= 0) {
        lo = mid + 1;
      } else {
        return m;
      }
    }
    return null;
  }

  @Override
  public <T> T tramp(Callable<T> mutator) throws Exception {
    Objects.requireNonNull(mutator, "mutator");
    os.mutatorEnter();
    try {
      return mutator.call();
    } finally {
      os.mutatorLeave();
    }
  }

  @Override
  public boolean isMutatorThread() {
    return os.mutatorDepth() > 0;
  }

  @Override
  public ProtBatch batch() {
    return new Batch();
  }

  @Override
  public long osProtectCalls() {
    return osCalls.get();
  }

  @Override
  public boolean handlerInstalled() {
    return os.handlerInstalled();
  }

  @Override
  public org.mpsprot.FaultCounters counters() {
    long[] c = new long[9];
    for (int i = 0; i < c.length; i++) {
      c[i] = os.counter(i);
    }
    return new org.mpsprot.FaultCounters(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]);
  }

  @Override
  public void uninstallHandler() {
    lock.lock();
    try {
      int err = os.uninstall();
      if (err == org.mpsprot.os.ClassicErrno.EBUSY) {
        throw new IllegalStateException("uninstallHandler refused (EBUSY): " + regions.size()
            + " regions are live; close them first (the handler must stay while any region can"
            + " fault)");
      }
      if (err == org.mpsprot.os.ClassicErrno.EEXIST) {
        throw new IllegalStateException("uninstallHandler refused (EEXIST): another SIGSEGV or"
            + " SIGBUS handler was installed over the module's after Prot.setup() (by the"
            + " application, a library or an agent); restoring the handler the module replaced"
            + " would remove that one too, and it may still pass faults on to the module's."
            + " Nothing was changed. Have whoever installed it put back the action it replaced"
            + " (sigaction) first, or leave the module's handler installed");
      }
      if (err != 0) {
        throw os.failure("uninstallHandler (restoring the previous SIGSEGV/SIGBUS actions)", err,
            0, 0);
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void setWatchdog(java.time.Duration bound, java.util.function.Consumer<String> sink) {
    barrier.setWatchdog(Objects.requireNonNull(bound, "bound"), Objects.requireNonNull(sink, "sink"));
  }

  RegionImpl regionBySlot(int slot) {
    return bySlot.get(slot);
  }

  void setPolicy(RegionImpl r, org.mpsprot.BarrierPolicy policy, org.mpsprot.FaultHandler handler,
      org.mpsprot.HandoffFallback fallback) {
    Objects.requireNonNull(policy, "policy");
    lock.lock();
    try {
      r.ensureOpen();
      r.policyChanged(policy, handler); // the handler is in place before a fault can need it
      int err = os.setPolicy(r.nat.slot(), policy.code(), fallback.code());
      if (err != 0) {
        throw os.failure("setPolicy(" + policy + ") on region " + r, err, 0, 0);
      }
      if (policy == org.mpsprot.BarrierPolicy.HANDOFF) {
        barrier.ensureStarted();
      }
    } finally {
      lock.unlock();
    }
  }

  java.util.BitSet harvest(RegionImpl r, AccessSet modeAfter) {
    Objects.requireNonNull(modeAfter, "modeAfter");
    lock.lock();
    try {
      r.ensureOpen();
      long pages = r.pages();
      long[] out = new long[(int) ((pages + 63) / 64)];
      long[] found = new long[1];
      osCalls.incrementAndGet();
      int err = os.harvest(r.nat.slot(), 0, pages, modeAfter.bits(), out, found);
      if (err != 0) {
        throw os.failure("harvest of region " + r + " with " + modeAfter, err, r.base(), r.limit());
      }
      return java.util.BitSet.valueOf(out);
    } finally {
      lock.unlock();
    }
  }

  java.util.BitSet bitmap(RegionImpl r, int which) {
    lock.lock();
    try {
      r.ensureOpen();
      java.nio.ByteBuffer words = os.bitmap(r.nat.slot(), which, r.pages()).order(java.nio.ByteOrder.nativeOrder());
      long[] copy = new long[words.capacity() / 8];
      words.asLongBuffer().get(copy);
      return java.util.BitSet.valueOf(copy);
    } finally {
      lock.unlock();
    }
  }

  List<org.mpsprot.AccessLogEntry> drainLog(RegionImpl r) {
    lock.lock();
    try {
      r.ensureOpen();
      java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocateDirect(32 * 512).order(java.nio.ByteOrder.nativeOrder());
      List<org.mpsprot.AccessLogEntry> out = new ArrayList<>();
      int n;
      do {
        n = os.drainLog(r.nat.slot(), buf, 512);
        out.addAll(RegionImpl.parseLog(buf, n));
      } while (n == 512);
      return out;
    } finally {
      lock.unlock();
    }
  }

  /** The live regions, for tools and tests. */
  public List<Region> regions() {
    return List.copyOf(regions.values());
  }

  /**
   * A batch: per region, an overlay of address to mode (-1 = untouched) that later requests
   * overwrite; apply() walks it and makes one call per maximal run of equal mode.
   */
  private final class Batch implements ProtBatch {
    private final Map<RegionImpl, TreeMap<Long, Integer>> overlays = new HashMap<>();

    @Override
    public ProtBatch set(long base, long limit, AccessSet mode) {
      Objects.requireNonNull(mode, "mode");
      RangeRules.checkBounds("ProtSet", base, limit, granularity);
      RegionImpl r = owner(base, limit);
      TreeMap<Long, Integer> overlay = overlays.computeIfAbsent(r, k -> new TreeMap<>(Long::compareUnsigned));
      Map.Entry<Long, Integer> atLimit = overlay.floorEntry(limit);
      int after = atLimit == null ? -1 : atLimit.getValue();
      overlay.subMap(base, true, limit, true).clear();
      overlay.put(base, mode.bits());
      overlay.put(limit, after);
      return this;
    }

    @Override
    public int apply() {
      int calls = 0;
      lock.lock();
      try {
        for (Map.Entry<RegionImpl, TreeMap<Long, Integer>> e : overlays.entrySet()) {
          RegionImpl r = e.getKey();
          r.ensureOpen();
          long runStart = -1;
          int runBits = -1;
          for (Map.Entry<Long, Integer> point : e.getValue().entrySet()) {
            int bits = point.getValue();
            if (runStart >= 0 && bits == runBits) {
              continue; // the same mode goes on: coalesce
            }
            if (runStart >= 0) {
              applyRun(r, runStart, point.getKey(), runBits);
              calls++;
            }
            runStart = bits < 0 ? -1 : point.getKey();
            runBits = bits;
          }
        }
      } finally {
        overlays.clear();
        lock.unlock();
      }
      return calls;
    }
  }
}
