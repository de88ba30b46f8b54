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
import org.mpsprot.ProtOsException;
import org.mpsprot.os.ClassicErrno;
import org.mpsprot.os.ProtOs;

/**
 * The generic protection module over one {@link ProtOs} (docs/design/prot.md). It keeps the
 * live regions, checks every request against {@link RangeRules}, makes one OS call per request
 * (fewer through {@link #batch()}), and keeps the shim's record equal to the OS's protection.
 *
 * <p>Concurrency: one lock serialises every protection change, region creation and closing, so
 * changes to the same pages never interleave (the shim leaves that to its caller) and a region
 * cannot be closed while a change to it is in flight. A ProtSet finds its region without the lock
 * (a binary search over an immutable snapshot of the live regions, republished under the lock by
 * reserve and close) and checks under the lock that the region is still live; it allocates
 * nothing and makes one native call (docs/performance.md .primitives.path). {@link #sync()} takes no lock: the shim pins each region while it syncs it
 * and holds the pages of each difference while it confirms and repairs it.
 */
public final class ProtModule implements Prot {
  private static final Object SETUP_LOCK = new Object();
  private static volatile ProtModule instance;

  private final ProtOs os;
  private final long granularity;
  /** granularity - 1, or -1 (every request takes RangeRules' check) if not a power of two. */
  private final long pageMask;
  private final ReentrantLock lock = new ReentrantLock();
  private final ConcurrentSkipListMap<Long, RegionImpl> regions =
      new ConcurrentSkipListMap<>(Long::compareUnsigned);
  /** Protection calls made under the lock (ProtSet, harvest): a plain field, read under it. */
  private long lockedOsCalls;
  /** Protection calls made by sync's repairs, which hold no lock. */
  private final AtomicLong osCalls = new AtomicLong();
  /** The live regions sorted by base (unsigned), for the lock-free lookup of a ProtSet. */
  private volatile RegionTable table = RegionTable.EMPTY;
  private final java.util.concurrent.ConcurrentHashMap<Integer, RegionImpl> bySlot =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final BarrierService barrier;

  private ProtModule(ProtOs os) {
    this.os = os;
    this.granularity = os.pageSize();
    // Page sizes are powers of two: alignment is a mask, not a division, on the ProtSet path.
    this.pageMask = Long.bitCount(granularity) == 1 ? granularity - 1 : -1L;
    this.barrier = new BarrierService(this, os);
    Jfr.init(os); // a listener only: no JFR start, no thread (.jfr.cost)
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
    Object jfr = Jfr.reserveBegin();
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
        table = RegionTable.of(regions.values());
        Jfr.reserveEnd(jfr, nat.base(), nat.alias(), rounded, nat.slot());
        return r;
      } catch (RuntimeException | Error e) {
        // Nothing stays behind: no slot, no mapping, no entry (so uninstallHandler still works).
        regions.remove(nat.base());
        bySlot.remove(nat.slot());
        table = RegionTable.of(regions.values());
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
      Object jfr = Jfr.closeBegin();
      closeScope(r);
      regions.remove(r.base());
      bySlot.remove(r.nat.slot());
      table = RegionTable.of(regions.values());
      r.markClosed();
      os.destroyRegion(r.nat.slot());
      Jfr.closeEnd(jfr, r.base(), r.size(), r.nat.slot());
    } finally {
      lock.unlock();
    }
  }

  /** See {@link RegionScopes#scope}. */
  <T extends AutoCloseable> T scope(RegionImpl r, Class<T> type, java.util.function.Supplier<T> make) {
    lock.lock();
    try {
      r.ensureOpen();
      if (r.scope == null) {
        r.scope = Objects.requireNonNull(make.get(), "scope");
      }
      return type.cast(r.scope);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Ends the region's views (a shared arena's close: every thread's access through them throws
   * from now on) before anything is unmapped. If the scope refuses (a segment of it is held by a
   * native call running now), nothing is closed or unmapped and close throws.
   */
  private static void closeScope(RegionImpl r) {
    AutoCloseable scope = r.scope;
    if (scope == null) {
      return;
    }
    try {
      scope.close();
      r.scope = null;
    } catch (IllegalStateException e) {
      throw new IllegalStateException("close of region " + r + " refused: a MemorySegment view of"
          + " it is in use by a native call running now (" + e.getMessage() + "); nothing was"
          + " unmapped. What to do: close the region when no native call uses its views.", e);
    } catch (Exception e) {
      throw new IllegalStateException("close of region " + r + ": its views' scope failed to close", e);
    }
  }

  @Override
  public void set(long base, long limit, AccessSet mode) {
    Objects.requireNonNull(mode, "mode");
    if (((base | limit) & pageMask) != 0 || Long.compareUnsigned(base, limit) >= 0) {
      RangeRules.checkBounds("ProtSet", base, limit, granularity); // throws, saying why
    }
    RegionImpl r = table.find(base, limit);
    Object jfr = Jfr.recording ? Jfr.protSetBegin() : null; // off: one volatile read (.jfr.cost)
    String error = null;
    lock.lock();
    try {
      if (r == null || r.isClosed()) {
        r = owner(base, limit); // closed meanwhile, or no owner: the lookup that explains why
      }
      applyRun(r, base, limit, mode.bits());
    } catch (RuntimeException e) {
      error = Jfr.errorName(e);
      throw e;
    } finally {
      lock.unlock();
      if (jfr != null) {
        Jfr.protSetEnd(jfr, base, limit, mode.toString(), 1, false, error);
      }
    }
  }

  /** An immutable snapshot of the live regions, sorted by base as unsigned numbers. */
  private static final class RegionTable {
    static final RegionTable EMPTY = new RegionTable(new long[0], new long[0], new RegionImpl[0]);
    final long[] bases;
    final long[] limits;
    final RegionImpl[] regions;

    private RegionTable(long[] bases, long[] limits, RegionImpl[] regions) {
      this.bases = bases;
      this.limits = limits;
      this.regions = regions;
    }

    /** In iteration order of a map sorted by unsigned base. */
    static RegionTable of(java.util.Collection<RegionImpl> sorted) {
      RegionImpl[] rs = sorted.toArray(new RegionImpl[0]);
      long[] b = new long[rs.length];
      long[] l = new long[rs.length];
      for (int i = 0; i < rs.length; i++) {
        b[i] = rs[i].base();
        l[i] = rs[i].limit();
      }
      return new RegionTable(b, l, rs);
    }

    /** The region wholly containing [base, limit), or null. No allocation, no lock. */
    RegionImpl find(long base, long limit) {
      int lo = 0;
      int hi = bases.length - 1;
      int at = -1;
      while (lo <= hi) { // the last region whose base <= base
        int mid = (lo + hi) >>> 1;
        if (Long.compareUnsigned(bases[mid], base) <= 0) {
          at = mid;
          lo = mid + 1;
        } else {
          hi = mid - 1;
        }
      }
      if (at < 0 || Long.compareUnsigned(limit, limits[at]) > 0) {
        return null;
      }
      return regions[at];
    }
  }

  private RegionImpl owner(long base, long limit) {
    return RangeRules.owner("ProtSet", regions, Region::limit, base, limit);
  }

  /**
   * One OS call. On failure the shim has made the record equal the OS again (.sol.restore): it
   * restored the pages, or, when that failed too, it read the OS's real protection into the
   * record while holding the pages; no Java runs while a page is held, so a thread that faults
   * on one never waits on Java (design rule 2).
   */
  private void applyRun(RegionImpl r, long base, long limit, int bits) {
    lockedOsCalls++;
    int err = os.protect(r.nat.slot(), base - r.base(), limit - base, bits);
    if (err != 0) {
      int restore = os.restoreState();
      String request = String.format("ProtSet [0x%x, 0x%x) %s (%s)", base, limit, AccessSet.fromBits(bits),
          os.protectCall());
      if (err == ClassicErrno.ENXIO) {
        throw notTheRegions(request, r);
      }
      ProtOsException e = os.failure(request, err, base, limit);
      if (restore == ProtOs.WIDENED) {
        e.addSuppressed(new ProtOsException("The restore of the pages' previous protection failed"
            + " too and the OS's protection could not be read: each page's record is now the least"
            + " restrictive of its previous mode and " + AccessSet.fromBits(bits) + ", so it forbids"
            + " no access the OS permits (design/prot.md .sol.restore). What to do: call"
            + " Prot.sync() once the OS can be read, to make the record and the OS equal.",
            err, e.errnoName()));
      }
      throw e;
    }
  }

  /** The refusal of a request on pages that are no longer the region's (.sol.replaced). */
  private static ProtOsException notTheRegions(String request, RegionImpl r) {
    return new ProtOsException(request + " refused: ENXIO: part of the range is no longer the"
        + " memory of region " + r + ": ProtSync found it unmapped or replaced from outside"
        + " (munmap, mmap MAP_FIXED), and the module never changes memory it does not own."
        + " What to do: find the code that mapped over the region; use only the region's other"
        + " pages, or close it (close() unmaps only what is still the region's).",
        ClassicErrno.ENXIO, "ENXIO");
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

  /** Runs per shim call of sync: a region with more differences takes more calls. */
  private static final int SYNC_MAX_RUNS = 256;

  /**
   * ProtSync (.if.sync), done by the shim one region at a time: its cost follows the mappings
   * and the differing pages, not the pages. No lock of the module is held meanwhile (a HANDOFF
   * fault's resolution, a ProtSet, a harvest go on); the shim pins each region for its call and
   * confirms each difference while holding its pages, so a page the fault handler opens or a
   * harvest re-protects meanwhile is never reported. A region closed meanwhile is left out.
   */
  @Override
  public SyncReport sync() {
    Object jfr = Jfr.syncBegin();
    List<RegionImpl> live = List.copyOf(regions.values());
    long[] out = new long[SYNC_MAX_RUNS * ProtOs.SYNC_RUN_WORDS];
    long[] result = new long[2];
    List<Difference> report = new ArrayList<>();
    int checked = 0;
    long pages = 0;
    for (RegionImpl r : live) {
      List<Difference> found = new ArrayList<>();
      long total = 2 * r.pages();
      long from = 0;
      boolean gone = false;
      while (from < total) {
        int err = os.syncRegion(r.nat.slot(), r.base(), true, from, out, SYNC_MAX_RUNS, result);
        if (err != 0) {
          if (r.isClosed()) {
            gone = true;
            break;
          }
          throw os.failure("ProtSync of region " + r + " (reading the OS's protection from "
              + os.protectionSource() + ")", err, 0, 0);
        }
        for (int i = 0; i < result[0]; i++) {
          Difference d = difference(r, out, i * ProtOs.SYNC_RUN_WORDS);
          if (d.repaired()) {
            osCalls.incrementAndGet();
          }
          found.add(d);
        }
        if (result[1] <= from) {
          throw new IllegalStateException("ProtSync of region " + r + ": the shim made no progress at page "
              + from + " (a bug: report it)");
        }
        from = result[1];
      }
      if (gone || r.isClosed()) {
        continue; // closed meanwhile: its slot may already hold another region
      }
      report.addAll(found);
      checked++;
      pages += total;
    }
    if (jfr != null) {
      int repaired = 0;
      for (Difference d : report) {
        repaired += d.repaired() ? 1 : 0;
      }
      Jfr.syncEnd(jfr, checked, pages, report.size(), repaired);
    }
    return new SyncReport(checked, pages, report);
  }

  /** Run {@code o} (its first word) of mpsprot_region_sync's out[]. */
  private static Difference difference(RegionImpl r, long[] out, int o) {
    View view = out[o + 2] == 0 ? View.MUTATOR : View.ALIAS;
    SyncReport.Kind kind = out[o + 3] == 0 ? SyncReport.Kind.DIFFERENT
        : out[o + 3] == 1 ? SyncReport.Kind.UNMAPPED : SyncReport.Kind.REPLACED;
    String expected = ProtModel.perms(AccessSet.fromBits((int) out[o + 4]));
    int perms = (int) out[o + 5];
    String actual = kind == SyncReport.Kind.UNMAPPED ? "unmapped"
        : ((perms & 1) != 0 ? "r" : "-") + ((perms & 2) != 0 ? "w" : "-") + ((perms & 4) != 0 ? "x" : "-");
    return new Difference(r.base(), view, out[o], out[o + 1], expected, actual, out[o + 6] != 0, kind);
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
    lock.lock();
    try {
      return lockedOsCalls + osCalls.get();
    } finally {
      lock.unlock();
    }
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

  /** The bean registered by {@link #registerMXBean()}, or null; guarded by this. */
  private ProtMXBeanImpl mxBean;

  @Override
  public synchronized javax.management.ObjectName registerMXBean() {
    javax.management.ObjectName name = mxBeanName();
    javax.management.MBeanServer server = java.lang.management.ManagementFactory.getPlatformMBeanServer();
    if (mxBean != null && server.isRegistered(name)) {
      return name; // ours, still there (if someone unregistered it, it is registered again below)
    }
    mxBean = null;
    ProtMXBeanImpl bean = new ProtMXBeanImpl(this);
    try {
      server.registerMBean(bean, name);
    } catch (javax.management.InstanceAlreadyExistsException e) {
      throw new IllegalStateException("registerMXBean: another MBean is registered as " + name
          + " (not this module's: another copy of mps-prot in another class loader, or an"
          + " application's own bean); nothing was registered. What to do: unregister that one"
          + " first, or read this module's counters with Prot.counters()", e);
    } catch (javax.management.JMException e) {
      throw new IllegalStateException("registerMXBean: the platform MBean server refused " + name
          + ": " + e, e);
    }
    mxBean = bean;
    return name;
  }

  @Override
  public synchronized boolean unregisterMXBean() {
    if (mxBean == null) {
      return false;
    }
    try {
      java.lang.management.ManagementFactory.getPlatformMBeanServer().unregisterMBean(mxBeanName());
    } catch (javax.management.InstanceNotFoundException e) {
      // unregistered by someone else meanwhile: ours is gone either way
    } catch (javax.management.JMException e) {
      throw new IllegalStateException("unregisterMXBean: " + e, e);
    }
    mxBean = null;
    return true;
  }

  private static javax.management.ObjectName mxBeanName() {
    try {
      return new javax.management.ObjectName(org.mpsprot.ProtMXBean.OBJECT_NAME);
    } catch (javax.management.MalformedObjectNameException e) {
      throw new AssertionError(e);
    }
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
      lockedOsCalls++;
      Object jfr = Jfr.harvestBegin();
      int err = os.harvest(r.nat.slot(), 0, pages, modeAfter.bits(), out, found);
      Jfr.harvestEnd(jfr, r.base(), pages, found[0], modeAfter,
          jfr == null || err == 0 ? null : os.failure("harvest", err, 0, 0).errnoName());
      if (err == ClassicErrno.ENXIO) {
        throw notTheRegions("harvest of region " + r + " with " + modeAfter, r);
      }
      if (err != 0) {
        // The shim set back every dirty bit it had cleared: the next harvest reports them all.
        throw os.failure("harvest of region " + r + " with " + modeAfter + " (" + os.protectCall() + ")",
            err, r.base(), r.limit());
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
          Object jfr = Jfr.protSetBegin();
          long first = 0;
          long last = 0;
          int modes = -1; // the one mode of every run, or -2 for several
          int regionCalls = 0;
          String error = null;
          try {
            for (Map.Entry<Long, Integer> point : e.getValue().entrySet()) {
              int bits = point.getValue();
              if (runStart >= 0 && bits == runBits) {
                continue; // the same mode goes on: coalesce
              }
              if (runStart >= 0) {
                regionCalls++;
                first = regionCalls == 1 ? runStart : first;
                last = point.getKey();
                modes = modes == -1 || modes == runBits ? runBits : -2;
                applyRun(r, runStart, point.getKey(), runBits);
                calls++;
              }
              runStart = bits < 0 ? -1 : point.getKey();
              runBits = bits;
            }
          } catch (RuntimeException x) {
            error = Jfr.errorName(x);
            throw x;
          } finally {
            if (jfr != null && regionCalls > 0) {
              Jfr.protSetEnd(jfr, first, last,
                  modes >= 0 ? AccessSet.fromBits(modes).toString() : "mixed", regionCalls, true, error);
            }
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
