package org.mpsprot.core;

import java.util.ArrayList;
import java.util.List;
import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Event;
import jdk.jfr.EventType;
import jdk.jfr.FlightRecorder;
import jdk.jfr.FlightRecorderListener;
import jdk.jfr.Label;
import jdk.jfr.MemoryAddress;
import jdk.jfr.Name;
import jdk.jfr.Period;
import jdk.jfr.Recording;
import jdk.jfr.RecordingState;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.os.ProtOs;

/**
 * The module's JDK Flight Recorder events (docs/design/fault.md .jfr), reached only through
 * {@link Jfr}, which touches this class only while a recording runs (or once at setup, when
 * the runtime has the jdk.jfr module): names {@code org.mpsprot.*},
 * category "mps-prot", settings in {@code mps-prot.jfc} (in the jar, and docs/mps-prot.jfc).
 *
 * <p>Cost when JFR is off (.jfr.cost): the module calls {@link FlightRecorder#addListener} once at
 * setup, which neither starts JFR nor a thread; every instrumented operation then reads one
 * volatile boolean ({@link Jfr#recording}) and does nothing else while no recording runs. Only while
 * a recording runs does it create an event and ask {@code shouldCommit()}. The fault handler is C
 * and never calls Java: it fills the shim's fault ring (.ring), which samples nothing until a
 * recording enables {@code org.mpsprot.Fault}; the ring is drained by JFR's own periodic thread
 * (the hooks of {@code org.mpsprot.FaultRing}, every 200 ms by default, and of
 * {@code org.mpsprot.Fault}, at the beginning and end of every chunk, so that a recording's last
 * faults are in it), never by a thread of the module.
 *
 * <p>Defaults (.jfr.settings): the frequent events (ProtSet, Fault, FaultRing) are disabled unless
 * a recording's settings enable them (mps-prot.jfc does; a recording with the JDK's default.jfc
 * does not, so the handler samples nothing there); Handoff, Harvest, Sync, RegionReserve and
 * RegionClose are enabled by default, as custom events are.
 *
 * <p>The events' classes are package-private; the module reaches them only through the static
 * methods here, with primitive arguments and an {@code Object} token, so that the rest of the
 * module never links against jdk.jfr (a runtime without the jdk.jfr module just has no events:
 * {@link Jfr} never loads this class there).
 * Thread-safe.
 */
final class JfrEvents {
  private JfrEvents() {}


  private static ProtOs os;
  private static boolean ringOn;
  /** Dropped records the last FaultRing event reported (guarded by JfrEvents.class). */
  private static long droppedReported;

  /**
   * Installs the listener that follows recordings (called once, at setup). Never throws: without
   * jdk.jfr the module simply has no events.
   */
  static void init(ProtOs protOs) {
    synchronized (JfrEvents.class) {
      os = protOs;
      droppedReported = protOs.faultRingDropped();
    }
    try {
      FlightRecorder.addListener(new Listener());
    } catch (LinkageError | RuntimeException e) {
      Jfr.recording = false; // no JFR in this runtime, or not allowed: no events
    }
  }

  private static final class Listener implements FlightRecorderListener {
    @Override
    public void recorderInitialized(FlightRecorder recorder) {
      FlightRecorder.addPeriodicEvent(FaultRingEvent.class, JfrEvents::drainAndReport);
      FlightRecorder.addPeriodicEvent(FaultEvent.class, JfrEvents::drainAndReport); // chunk ends too
      update(recorder);
    }

    @Override
    public void recordingStateChanged(Recording changed) {
      update(FlightRecorder.getFlightRecorder());
    }
  }

  /** Follows the recordings: the flag, and the ring on while Fault events are wanted. */
  private static void update(FlightRecorder recorder) {
    boolean any = false;
    for (Recording r : recorder.getRecordings()) {
      if (r.getState() == RecordingState.RUNNING) {
        any = true;
      }
    }
    Jfr.recording = any;
    boolean wantRing = any && EventType.getEventType(FaultEvent.class).isEnabled();
    synchronized (JfrEvents.class) {
      if (wantRing == ringOn) {
        return;
      }
      ringOn = wantRing;
      if (wantRing) {
        // Records left from an earlier recording belong to none: discard them, then sample.
        long[] out = new long[ProtOs.FAULT_RING_WORDS * 256];
        while (os.drainFaultRing(out, 256) > 0) {
          continue;
        }
        droppedReported = os.faultRingDropped();
        os.sampleFaults(Jfr.SAMPLING);
      } else {
        os.sampleFaults(0);
        // The recording's last FaultRing event (at its chunk end) reported the drops until then.
        droppedReported = os.faultRingDropped();
      }
    }
  }

  /** Whether the ring samples faults now (for tests). */
  static synchronized boolean ringOn() {
    return ringOn;
  }

  /** Drains the ring into Fault events; returns how many records it drained. */
  private static int drain() {
    long[] out = new long[ProtOs.FAULT_RING_WORDS * 256];
    int total = 0;
    int n;
    long now = System.nanoTime();
    ProtOs o;
    synchronized (JfrEvents.class) {
      o = os;
    }
    if (o == null) {
      return 0;
    }
    while ((n = o.drainFaultRing(out, 256)) > 0) {
      total += n;
      for (int i = 0; i < n; i++) {
        FaultEvent e = new FaultEvent();
        if (!e.shouldCommit()) {
          continue;
        }
        int w = i * ProtOs.FAULT_RING_WORDS;
        long kind = out[w + 5];
        e.address = out[w];
        e.age = Math.max(0, now - out[w + 1]);
        e.handlerDuration = out[w + 2];
        e.osThreadId = out[w + 3];
        e.regionSlot = (int) out[w + 4];
        e.access = Jfr.accessName((int) (kind & 0xff));
        e.policy = Jfr.policyName((int) ((kind >> 8) & 0xff));
        e.resolution = Jfr.resolutionName((int) ((kind >> 16) & 0xff));
        e.commit();
      }
    }
    return total;
  }

  private static void drainAndReport() {
    int drained = drain();
    FaultRingEvent e = new FaultRingEvent();
    if (e.shouldCommit()) {
      synchronized (JfrEvents.class) {
        long total = os.faultRingDropped();
        e.drained = drained;
        e.dropped = total - droppedReported;
        e.droppedTotal = total;
        e.samplingPeriod = ringOn ? Jfr.SAMPLING : 0;
        droppedReported = total;
      }
      e.commit();
    }
  }

  // ---- The hooks the module calls (each returns at once while no recording runs) ----

  /** A token for {@link #protSetEnd}, or null when ProtSet events are not recorded. */
  static Object protSetBegin() {
    if (!Jfr.recording) {
      return null;
    }
    ProtSetEvent e = new ProtSetEvent();
    if (!e.isEnabled()) {
      return null;
    }
    e.begin();
    return e;
  }

  static void protSetEnd(Object token, long base, long limit, String mode, int osCalls, boolean batch,
      String error) {
    if (token == null) {
      return;
    }
    ProtSetEvent e = (ProtSetEvent) token;
    e.end();
    if (e.shouldCommit()) {
      e.base = base;
      e.limit = limit;
      e.size = limit - base;
      e.mode = mode;
      e.osCalls = osCalls;
      e.batch = batch;
      e.error = error;
      e.commit();
    }
  }

  static Object harvestBegin() {
    if (!Jfr.recording) {
      return null;
    }
    HarvestEvent e = new HarvestEvent();
    if (!e.isEnabled()) {
      return null;
    }
    e.begin();
    return e;
  }

  static void harvestEnd(Object token, long regionBase, long pages, long reported, AccessSet modeAfter,
      boolean touched, String error) {
    if (token == null) {
      return;
    }
    HarvestEvent e = (HarvestEvent) token;
    e.end();
    if (e.shouldCommit()) {
      e.regionBase = regionBase;
      e.pages = pages;
      e.bits = touched ? "touched" : "dirty";
      e.pagesReported = reported;
      e.modeAfter = modeAfter.toString();
      e.error = error;
      e.commit();
    }
  }

  static Object syncBegin() {
    if (!Jfr.recording) {
      return null;
    }
    SyncEvent e = new SyncEvent();
    if (!e.isEnabled()) {
      return null;
    }
    e.begin();
    return e;
  }

  static void syncEnd(Object token, int regions, long pages, int differences, int repaired) {
    if (token == null) {
      return;
    }
    SyncEvent e = (SyncEvent) token;
    e.end();
    if (e.shouldCommit()) {
      e.regionsChecked = regions;
      e.pagesChecked = pages;
      e.differences = differences;
      e.repaired = repaired;
      e.commit();
    }
  }

  static Object reserveBegin() {
    if (!Jfr.recording) {
      return null;
    }
    RegionReserveEvent e = new RegionReserveEvent();
    if (!e.isEnabled()) {
      return null;
    }
    e.begin();
    return e;
  }

  static void reserveEnd(Object token, long base, long alias, long size, int slot) {
    if (token == null) {
      return;
    }
    RegionReserveEvent e = (RegionReserveEvent) token;
    e.end();
    if (e.shouldCommit()) {
      e.base = base;
      e.aliasBase = alias;
      e.size = size;
      e.slot = slot;
      e.commit();
    }
  }

  static Object closeBegin() {
    if (!Jfr.recording) {
      return null;
    }
    RegionCloseEvent e = new RegionCloseEvent();
    if (!e.isEnabled()) {
      return null;
    }
    e.begin();
    return e;
  }

  static void closeEnd(Object token, long base, long size, int slot) {
    if (token == null) {
      return;
    }
    RegionCloseEvent e = (RegionCloseEvent) token;
    e.end();
    if (e.shouldCommit()) {
      e.base = base;
      e.size = size;
      e.slot = slot;
      e.commit();
    }
  }

  static Object handoffBegin() {
    if (!Jfr.recording) {
      return null;
    }
    HandoffEvent e = new HandoffEvent();
    if (!e.isEnabled()) {
      return null;
    }
    e.begin();
    return e;
  }

  static void handoffEnd(Object token, long address, AccessSet access, long osThreadId, long regionBase,
      long parkedNs, String outcome) {
    if (token == null) {
      return;
    }
    HandoffEvent e = (HandoffEvent) token;
    e.end();
    if (e.shouldCommit()) {
      e.address = address;
      e.access = Jfr.accessName(access.bits());
      e.osThreadId = osThreadId;
      e.regionBase = regionBase;
      e.parkDuration = parkedNs;
      e.outcome = outcome;
      e.commit();
    }
  }

  /** The names of the module's event types, for tests and the docs. */
  static List<String> eventNames() {
    List<String> names = new ArrayList<>();
    for (Class<?> c : List.of(ProtSetEvent.class, FaultEvent.class, FaultRingEvent.class, HandoffEvent.class,
        HarvestEvent.class, SyncEvent.class, RegionReserveEvent.class, RegionCloseEvent.class)) {
      names.add(c.getAnnotation(Name.class).value());
    }
    return names;
  }

  // ---- The events ----

  @Name("org.mpsprot.ProtSet")
  @Enabled(false) // frequent: on through mps-prot.jfc or by name (.jfr.settings)
  @Label("ProtSet")
  @Category("mps-prot")
  @Description("A protection change of a region's pages (Prot.set, Region.protect, a batch's apply per"
      + " region); its duration includes the OS calls")
  static final class ProtSetEvent extends Event {
    @Label("Base") @Description("First address of the range") @MemoryAddress
    long base;
    @Label("Limit") @Description("The range's end (exclusive)") @MemoryAddress
    long limit;
    @Label("Size") @DataAmount
    long size;
    @Label("Mode") @Description("The accesses forbidden (AccessSet); 'mixed' for a batch of several modes")
    String mode;
    @Label("OS Calls") @Description("Protection calls made (mprotect, VirtualProtect)")
    int osCalls;
    @Label("Batch") @Description("Applied by ProtBatch.apply")
    boolean batch;
    @Label("Error") @Description("The failure's errno name (or exception class), null when it succeeded")
    String error;
  }

  @Name("org.mpsprot.Fault")
  @Enabled(false) // frequent: on through mps-prot.jfc or by name (.jfr.settings)
  @Label("Fault")
  @Category("mps-prot")
  @Description("A protection fault the shim's handler saw, sampled into the fault ring by the C handler"
      + " and written when the ring is drained (every FaultRing period, and at the end of each chunk)")
  @StackTrace(false)
  @Period("everyChunk")
  static final class FaultEvent extends Event {
    @Label("Address") @Description("The exact fault address") @MemoryAddress
    long address;
    @Label("Access") @Description("read, write, 'read or write' (the CPU did not say), unknown (passed on)")
    String access;
    @Label("Policy") @Description("The region's barrier policy (NONE for a fault passed on)")
    String policy;
    @Label("Resolution")
    @Description("unprotected, stepped, handed off, fell back (the policy's fallback resolved it),"
        + " chained (not the module's: passed to the previous handler), spurious (already open: retried)")
    String resolution;
    @Label("Region Slot") @Description("The region's slot in the shim, -1 when not in a region")
    int regionSlot;
    @Label("OS Thread Id") @Description("The kernel thread id of the faulting thread")
    long osThreadId;
    @Label("Handler Duration") @Description("From the handler's entry until it resumed the thread (a"
        + " HANDOFF park included) or passed the fault on") @Timespan(Timespan.NANOSECONDS)
    long handlerDuration;
    @Label("Age") @Description("How long before this event's start time the fault happened")
    @Timespan(Timespan.NANOSECONDS)
    long age;
  }

  @Name("org.mpsprot.FaultRing")
  @Enabled(false) // Fault's companion: its hook drains the ring between chunks (.jfr.settings)
  @Label("Fault Ring")
  @Category("mps-prot")
  @Description("The fault ring's drain (every period, and at the beginning and end of each chunk):"
      + " records drained into Fault events and records dropped because the ring was full")
  @StackTrace(false)
  @Period("200 ms")
  static final class FaultRingEvent extends Event {
    @Label("Drained")
    int drained;
    @Label("Dropped") @Description("Records dropped because the ring was full, since the last FaultRing event")
    long dropped;
    @Label("Dropped Total") @Description("Records dropped since the process started")
    long droppedTotal;
    @Label("Sampling Period") @Description("Every n-th fault is recorded; 0: the ring is off")
    int samplingPeriod;
  }

  @Name("org.mpsprot.Handoff")
  @Label("Handoff")
  @Category("mps-prot")
  @Description("A HANDOFF fault resolved by a Java FaultHandler on a barrier thread; the duration is the"
      + " handler's")
  @StackTrace(false)
  static final class HandoffEvent extends Event {
    @Label("Address") @MemoryAddress
    long address;
    @Label("Access")
    String access;
    @Label("Mutator OS Thread Id") @Description("The kernel thread id of the parked mutator")
    long osThreadId;
    @Label("Region Base") @MemoryAddress
    long regionBase;
    @Label("Park Duration") @Description("How long the mutator was parked, until it was resumed or failed")
    @Timespan(Timespan.NANOSECONDS)
    long parkDuration;
    @Label("Outcome") @Description("resumed, stepped, failed (the mutator fails fast)")
    String outcome;
  }

  @Name("org.mpsprot.Harvest")
  @Label("Harvest")
  @Category("mps-prot")
  @Description("Region.harvest: the dirty pages reported and re-protected")
  static final class HarvestEvent extends Event {
    @Label("Region Base") @MemoryAddress
    long regionBase;
    @Label("Pages") @Description("Pages of the region scanned")
    long pages;
    @Label("Bits") @Description("Which bits were harvested: dirty (Region.harvest) or touched"
        + " (Region.harvestTouched)")
    String bits;
    @Label("Pages Reported") @Description("Pages whose bit was set, reported (and re-protected)")
    long pagesReported;
    @Label("Mode After") @Description("The AccessSet the reported pages were given")
    String modeAfter;
    @Label("Error") @Description("The failure's errno name, or null when it succeeded")
    String error;
  }

  @Name("org.mpsprot.Sync")
  @Label("ProtSync")
  @Category("mps-prot")
  @Description("Prot.sync: the OS's protection compared with the record, differences repaired")
  static final class SyncEvent extends Event {
    @Label("Regions Checked")
    int regionsChecked;
    @Label("Pages Checked") @Description("Pages of both views")
    long pagesChecked;
    @Label("Differences")
    int differences;
    @Label("Repaired")
    int repaired;
  }

  @Name("org.mpsprot.RegionReserve")
  @Label("Region Reserve")
  @Category("mps-prot")
  @Description("Prot.reserve: a region mapped twice")
  static final class RegionReserveEvent extends Event {
    @Label("Base") @Description("The mutator's view") @MemoryAddress
    long base;
    @Label("Alias Base") @Description("The collector's alias view") @MemoryAddress
    long aliasBase;
    @Label("Size") @DataAmount
    long size;
    @Label("Slot")
    int slot;
  }

  @Name("org.mpsprot.RegionClose")
  @Label("Region Close")
  @Category("mps-prot")
  @Description("Region.close: a region unmapped")
  static final class RegionCloseEvent extends Event {
    @Label("Base") @MemoryAddress
    long base;
    @Label("Size") @DataAmount
    long size;
    @Label("Slot")
    int slot;
  }
}
