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
import org.mpsprot.ProtRangeException;
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
        return r.newHandle();
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

  /**
   * The Cleaner's close of a region its user dropped without closing it (.sol.cleaner): as
   * close(), with a warning on stderr, since the user leaked it. A refusal (a segment view in use
   * by a native call) leaves the region live and is reported; it is not retried.
   */
  void reclaim(RegionImpl r) {
    String warning;
    lock.lock(); // reentrant: close takes it again; closed-or-not is decided under it
    try {
      if (r.isClosed()) {
        return;
      }
      close(r);
      reclaimed.incrementAndGet();
      warning = "mps-prot: warning: region " + r + " became unreachable without close(); it was"
          + " closed by its Cleaner (its slot and mappings are free again). What to do: close"
          + " regions when done with them (try-with-resources).";
    } catch (RuntimeException e) {
      warning = "mps-prot: warning: region " + r + " became unreachable without close(), and its"
          + " Cleaner could not close it: " + e;
    } finally {
      lock.unlock();
    }
    System.err.println(warning); // not under the module's lock
  }

  private final AtomicLong reclaimed = new AtomicLong();

  /** How many regions their Cleaner closed since setup (.sol.cleaner), for tests and tools. */
  public long reclaimedRegions() {
    return reclaimed.get();
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
    return owner("ProtSet", base, limit);
  }

  /**
   * RangeRules.owner, except that an address in a live region's alias view is refused as what
   * it is: the alias view is always read-write and has no protection to change (.sol.alias).
   */
  private RegionImpl owner(String op, long base, long limit) {
    Map.Entry<Long, RegionImpl> e = regions.floorEntry(base);
    if (e == null || Long.compareUnsigned(base, e.getValue().limit()) >= 0) {
      for (RegionImpl r : regions.values()) {
        long alias = r.aliasBase();
        if (Long.compareUnsigned(base - alias, r.size()) < 0) {
          long offset = base - alias;
          throw new ProtRangeException(String.format(
              "%s [0x%x, 0x%x): 0x%x is in the alias view of region %s (alias view [0x%x, 0x%x),"
                  + " offset %d), not its mutator's view; the alias view is always read-write and"
                  + " its protection never changes. What to do: pass the mutator's view's address"
                  + " (region.base() + offset = 0x%x), or use region.protect(offset, length, mode)",
              op, base, limit, base, r, alias, alias + r.size(), offset, r.base() + offset));
        }
      }
    }
    return RangeRules.owner(op, regions, Region::limit, base, limit);
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
      RegionImpl r = owner("recordedMode", address, address + 1);
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

  // The JMX code is ProtMXBeanImpl's: this class names no type of java.management in a catch
  // or a call, so it links on a runtime without that module (an opt-in, .mxbean).
  @Override
  public synchronized javax.management.ObjectName registerMXBean() {
    mxBean = ProtMXBeanImpl.register(this, mxBean);
    return ProtMXBeanImpl.name();
  }

  @Override
  public synchronized boolean unregisterMXBean() {
    if (mxBean == null) {
      return false;
    }
    ProtMXBeanImpl.unregister();
    mxBean = null;
    return true;
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
    return harvest(r, modeAfter, false);
  }

  /** As {@link #harvest} over the touched bits (Region.harvestTouched). */
  java.util.BitSet harvestTouched(RegionImpl r, AccessSet modeAfter) {
    return harvest(r, modeAfter, true);
  }

  /**
   * Region.harvest (the dirty bits) or Region.harvestTouched: on failure the shim has set back
   * every bit it cleared, so the next harvest of the same bits reports them all.
   */
  private java.util.BitSet harvest(RegionImpl r, AccessSet modeAfter, boolean touched) {
    Objects.requireNonNull(modeAfter, "modeAfter");
    String request = (touched ? "harvestTouched" : "harvest") + " of region " + r + " with " + modeAfter;
    lock.lock();
    try {
      r.ensureOpen();
      long pages = r.pages();
      long[] out = new long[(int) ((pages + 63) / 64)];
      long[] found = new long[1];
      lockedOsCalls++;
      Object jfr = Jfr.harvestBegin();
      int err = touched ? os.harvestTouched(r.nat.slot(), 0, pages, modeAfter.bits(), out, found)
          : os.harvest(r.nat.slot(), 0, pages, modeAfter.bits(), out, found);
      Jfr.harvestEnd(jfr, r.base(), pages, found[0], modeAfter, touched,
          jfr == null || err == 0 ? null : os.failure(request, err, 0, 0).errnoName());
      if (err == ClassicErrno.ENXIO) {
        throw notTheRegions(request, r);
      }
      if (err != 0) {
        throw os.failure(request + " (" + os.protectCall() + ")", err, r.base(), r.limit());
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

  /** Pages read from the record before their bitmap words, per step of {@link #describe}. */
  private static final int DESCRIBE_CHUNK = 64 * 1024;

  /**
   * Region.describe(): under the lock (no ProtSet, batch, harvest, policy change or close
   * meanwhile), each chunk of the record is read before the same chunk of both bitmaps, with an
   * acquire fence between: the handler sets a page's bit before it releases the page's BUSY
   * byte with the opened mode (barrier.c mark_page), so a page seen opened by a fault is seen
   * with that fault's bit.
   */
  org.mpsprot.RegionSnapshot describe(RegionImpl r) {
    lock.lock();
    try {
      r.ensureOpen();
      int pages = (int) r.pages();
      java.nio.ByteBuffer dirty = os.bitmap(r.nat.slot(), 0, pages).order(java.nio.ByteOrder.nativeOrder());
      java.nio.ByteBuffer touched = os.bitmap(r.nat.slot(), 1, pages).order(java.nio.ByteOrder.nativeOrder());
      org.mpsprot.RegionSnapshot.Builder b =
          org.mpsprot.RegionSnapshot.builder(r.base(), granularity, r.policyUnchecked());
      byte[] modes = new byte[Math.min(pages, DESCRIBE_CHUNK)];
      java.nio.ByteBuffer modeWords = java.nio.ByteBuffer.wrap(modes);
      for (int from = 0; from < pages; from += DESCRIBE_CHUNK) {
        int n = Math.min(DESCRIBE_CHUNK, pages - from);
        r.record.get(from, modes, 0, n);
        java.lang.invoke.VarHandle.acquireFence(); // the record before the bits (see above)
        for (int w = 0; w < (n + 63) / 64; w++) {
          int word = from / 64 + w;
          long d = dirty.getLong(word * 8);
          long t = touched.getLong(word * 8);
          int end = Math.min(n, w * 64 + 64);
          if (d == 0 && t == 0 && end == w * 64 + 64) { // 64 clean pages: all of one mode?
            int mode = modes[w * 64] & AccessSet.ALL.bits();
            long same = mode * 0x0101010101010101L;
            int k = 0;
            while (k < 64 && (modeWords.getLong(w * 64 + k) & 0x0303030303030303L) == same) {
              k += 8;
            }
            if (k == 64) {
              b.add(64, AccessSet.fromBits(mode), false, false);
              continue;
            }
          }
          for (int i = w * 64; i < end; i++) {
            int bit = i & 63;
            b.addPage(modes[i] & AccessSet.ALL.bits(), (d >>> bit & 1) != 0, (t >>> bit & 1) != 0);
          }
        }
      }
      return b.build();
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
    List<Region> out = new ArrayList<>();
    for (RegionImpl r : regions.values()) {
      out.add(r.publicRegion());
    }
    return List.copyOf(out);
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

    private List<ProtBatch.Run> applied = List.of();

    /**
     * Everything is checked before the first OS call (every region still open), then the runs
     * are made in ascending order of address: regions by base, runs by address in a region
     * (docs/design/prot.md .sol.batch).
     */
    @Override
    public int apply() {
      lock.lock();
      try {
        applied = List.of();
        List<RegionImpl> order = new ArrayList<>(overlays.keySet());
        order.sort((a, b) -> Long.compareUnsigned(a.base(), b.base()));
        for (RegionImpl r : order) {
          if (r.isClosed()) {
            throw new org.mpsprot.RegionClosedException("ProtBatch.apply(): region " + r + " was"
                + " closed after requests for it were queued; nothing was applied, to any region,"
                + " and the batch is now empty. What to do: queue the requests again without that"
                + " region's");
          }
        }
        List<ProtBatch.Run> runs = new ArrayList<>();
        List<RegionImpl> owners = new ArrayList<>();
        for (RegionImpl r : order) {
          long runStart = 0;
          int runBits = -1;
          for (Map.Entry<Long, Integer> point : overlays.get(r).entrySet()) {
            int bits = point.getValue();
            if (runBits >= 0 && bits == runBits) {
              continue; // the same mode goes on: coalesce
            }
            if (runBits >= 0) {
              runs.add(new ProtBatch.Run(runStart, point.getKey(), AccessSet.fromBits(runBits)));
              owners.add(r);
            }
            runStart = point.getKey();
            runBits = bits;
          }
        }
        List<ProtBatch.Run> done = new ArrayList<>(runs.size());
        applied = java.util.Collections.unmodifiableList(done);
        BatchEvent event = new BatchEvent();
        for (int i = 0; i < runs.size(); i++) {
          ProtBatch.Run run = runs.get(i);
          try {
            event.run(owners.get(i), run);
            applyRun(owners.get(i), run.base(), run.limit(), run.mode().bits());
          } catch (ProtOsException e) {
            event.end(Jfr.errorName(e));
            e.addSuppressed(new ProtOsException("ProtBatch.apply(): run " + (i + 1) + " of "
                + runs.size() + ", " + run + ", failed and was undone; the " + i + " runs before it"
                + " stay applied and recorded " + done + ", the " + (runs.size() - i - 1)
                + " after it were not applied " + runs.subList(i + 1, runs.size()) + " (runs are"
                + " applied in ascending address order; ProtBatch.applied() lists the applied"
                + " ones). The batch is now empty.", e.errno(), e.errnoName()));
            throw e;
          } catch (RuntimeException e) {
            event.end(Jfr.errorName(e));
            throw e;
          }
          done.add(run);
        }
        event.end(null);
        return runs.size();
      } finally {
        overlays.clear();
        lock.unlock();
      }
    }

    @Override
    public List<ProtBatch.Run> applied() {
      return applied;
    }
  }

  /**
   * The JFR ProtSet events of one batch (fault.md .jfr): one per region, from its first run's
   * base to its last run's limit, with the number of OS calls and the one mode of every run, or
   * "mixed". Nothing is done unless a recording wants ProtSet events.
   */
  private static final class BatchEvent {
    private RegionImpl region;
    private Object token;
    private long first;
    private long last;
    private int modes = -1; // the one mode of every run, or -2 for several
    private int calls;

    /** Counts {@code run} of region {@code r}, ending the previous region's event first. */
    void run(RegionImpl r, ProtBatch.Run run) {
      if (r != region) {
        end(null);
        region = r;
        token = Jfr.protSetBegin();
        first = run.base();
      }
      calls++;
      last = run.limit();
      int bits = run.mode().bits();
      modes = modes == -1 || modes == bits ? bits : -2;
    }

    /** Commits the current region's event, with {@code error} (an errno name) or null. */
    void end(String error) {
      if (token != null && calls > 0) {
        Jfr.protSetEnd(token, first, last, modes >= 0 ? AccessSet.fromBits(modes).toString() : "mixed",
            calls, true, error);
      }
      region = null;
      token = null;
      modes = -1;
      calls = 0;
    }
  }
}
