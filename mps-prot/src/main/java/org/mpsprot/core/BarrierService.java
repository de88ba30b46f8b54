package org.mpsprot.core;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.mpsprot.AccessSet;
import org.mpsprot.FaultHandler;
import org.mpsprot.os.ProtOs;

/**
 * The barrier threads and the watchdog of the handoff (docs/design/fault.md .sol.handoff).
 *
 * <p>Each barrier thread waits for a parked mutator inside a native call (so that it is in native
 * state and never holds up a safepoint: .rule.native), runs the region's {@link FaultHandler},
 * checks that the fault was resolved, and resumes the mutator, or makes it fail fast. Two
 * barrier threads serve by default, so that one handler may wait for another fault's
 * resolution. The watchdog reports every mutator parked longer than its bound; a sink that throws
 * is contained (the report goes to stderr instead, the sink's failure is reported there once per
 * sink, and the watchdog goes on), and {@link #setWatchdog} starts a new watchdog thread when
 * none is alive (one that was interrupted, say).
 */
final class BarrierService {
  static final int THREADS = 2;
  private static final int RESUME = 0;
  private static final int FAIL = 1;
  private static final int WAIT_MS = 200;
  /**
   * How many times in a row a handler may return with the same fault still unresolved before the
   * mutator fails fast. One such return is legitimate (another thread re-protected the page after
   * the handler opened it: the mutator faults again and is handed off again); a handler that never
   * resolves would otherwise spin the mutator forever.
   */
  static final int MAX_UNRESOLVED = 1000;
  private final java.util.concurrent.ConcurrentHashMap<Long, Integer> unresolved =
      new java.util.concurrent.ConcurrentHashMap<>();

  private final ProtModule module;
  private final ProtOs os;
  private boolean started;
  private volatile Duration watchdogBound = Duration.ofSeconds(5);
  private volatile Consumer<String> watchdogSink = System.err::println;
  private final PrintStream errors = System.err;
  /** The watchdog thread, or null before it is first started; guarded by this. */
  private Thread watchdog;
  /** The last sink whose failure was reported to {@link #errors}; only the watchdog uses it. */
  private Consumer<String> sinkReported;

  BarrierService(ProtModule module, ProtOs os) {
    this.module = module;
    this.os = os;
  }

  synchronized void ensureStarted() {
    if (started) {
      return;
    }
    started = true;
    for (int i = 0; i < THREADS; i++) {
      Thread t = new Thread(this::serve, "mps-prot-barrier-" + i);
      t.setDaemon(true);
      t.start();
    }
    ensureWatchdog();
  }

  /** Starts the watchdog thread unless one is alive. */
  private synchronized void ensureWatchdog() {
    if (watchdog != null && watchdog.isAlive()) {
      return;
    }
    Thread w = new Thread(this::watch, "mps-prot-watchdog");
    w.setDaemon(true);
    watchdog = w;
    w.start();
  }

  /**
   * Sets the watchdog's bound and sink, and (re)starts the watchdog thread if it is not running.
   * Thread-safe.
   */
  void setWatchdog(Duration bound, Consumer<String> sink) {
    if (bound.isNegative() || bound.isZero()) {
      throw new IllegalArgumentException("watchdog bound " + bound + " must be positive");
    }
    watchdogBound = bound;
    watchdogSink = sink;
    ensureWatchdog();
  }

  /**
   * Hands a report to the sink. A sink that throws does not end the watchdog: the report goes to
   * stderr, and the sink's exception is printed there the first time that sink throws.
   */
  private void report(String message) {
    Consumer<String> sink = watchdogSink;
    try {
      sink.accept(message);
    } catch (Throwable t) {
      errors.println(message);
      if (sinkReported != sink) {
        sinkReported = sink;
        errors.println("mps-prot watchdog: the watchdog sink threw; its reports go to stderr"
            + " while it throws (reported once per sink), and the watchdog goes on:");
        t.printStackTrace(errors);
      }
    }
  }

  private void serve() {
    while (true) {
      int ticket = os.handoffWait(WAIT_MS);
      if (ticket >= 0) {
        resolve(ticket);
      }
    }
  }

  private void resolve(int ticket) {
    Object jfr = Jfr.handoffBegin(); // null while no recording wants Handoff events
    long address = os.handoffContext(ticket);
    ByteBuffer buf = os.buffer(address, ContextImpl.SIZE).order(ByteOrder.nativeOrder());
    RegionImpl region = module.regionBySlot(ContextImpl.slot(buf));
    ContextImpl ctx = new ContextImpl(os, address, buf, region == null ? null : region.publicRegion());
    int outcome = FAIL;
    try {
      FaultHandler handler = region == null ? null : region.handler();
      if (handler == null) {
        errors.println("mps-prot: " + ctx + ": the region has no fault handler; the mutator fails fast");
      } else {
        long key = ((long) ctx.threadId() << 32) ^ ctx.address();
        handler.handle(ctx);
        if (ctx.stepped() || resolvedBy(region, ctx)) {
          unresolved.remove(key);
          outcome = RESUME;
        } else if (unresolved.merge(key, 1, Integer::sum) < MAX_UNRESOLVED) {
          outcome = RESUME; // it faults again and comes back here
        } else {
          unresolved.remove(key);
          errors.println("mps-prot: the fault handler returned " + MAX_UNRESOLVED + " times in a row"
              + " without resolving the " + ctx + ": it must lower the page's protection or"
              + " step the instruction; the mutator fails fast");
        }
      }
    } catch (Throwable t) {
      errors.println("mps-prot: the fault handler threw on the " + ctx + "; the mutator fails fast:");
      t.printStackTrace(errors);
    } finally {
      if (jfr != null) { // the context is still valid: the mutator is parked until the resolve
        Jfr.handoffEnd(jfr, ctx.address(), ctx.access(), ctx.threadId(), region == null ? 0 : region.base(),
            os.handoffParkedNs(ticket), outcome == FAIL ? "failed" : ctx.stepped() ? "stepped" : "resumed");
      }
      ctx.invalidate();
      os.handoffResolve(ticket, outcome);
    }
  }

  private boolean resolvedBy(RegionImpl region, ContextImpl ctx) {
    AccessSet mode = module.recordedMode(ctx.address());
    return mode.effective().intersection(ctx.access()).isEmpty();
  }

  private void watch() {
    Map<Long, Long> reported = new HashMap<>();
    long[] parked = new long[3 * 64];
    while (true) {
      Duration bound = watchdogBound;
      try {
        Thread.sleep(Math.max(10, Math.min(100, bound.toMillis() / 4)));
      } catch (InterruptedException e) {
        return;
      }
      int n = os.handoffParked(parked, 64);
      Map<Long, Long> now = new HashMap<>();
      for (int i = 0; i < n; i++) {
        long tid = parked[3 * i];
        long addr = parked[3 * i + 1];
        long ns = parked[3 * i + 2];
        long key = tid * 31 + addr;
        now.put(key, ns);
        Long last = reported.get(key); // ns parked when last seen, for a park already reported
        if (last != null && ns < last) {
          reported.remove(key); // parked again at the same place since: a new park
          last = null;
        }
        if (last != null) {
          reported.put(key, ns);
        } else if (ns > bound.toNanos()) {
          report(String.format(
              "mps-prot watchdog: mutator thread %d parked for %d ms at address 0x%x, waiting for"
                  + " the Java barrier thread (bound %d ms)", tid, ns / 1_000_000, addr, bound.toMillis()));
          reported.put(key, ns);
        }
      }
      reported.keySet().retainAll(now.keySet());
    }
  }
}
