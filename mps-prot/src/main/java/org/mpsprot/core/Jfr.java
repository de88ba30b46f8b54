package org.mpsprot.core;

import java.util.List;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.os.ProtOs;

/**
 * The module's side of its JFR events (docs/design/fault.md .jfr): the hooks the module calls,
 * each of which returns at once while no recording runs, and which reach {@link JfrEvents} (the
 * events, the listener, the fault ring's drain) only while one does.
 *
 * <p>This class names no type of jdk.jfr, so it links on a runtime without the jdk.jfr module
 * (an image made by jlink without it): there {@link #init} finds no module, the module has no
 * events, and {@link JfrEvents}, whose verification needs jdk.jfr's classes, is never loaded
 * (.jfr.absent). Thread-safe.
 */
final class Jfr {
  private Jfr() {}

  /**
   * Whether any recording is running (set by JfrEvents' listener): the only thing an
   * instrumented operation reads while none runs.
   */
  static volatile boolean recording;

  /** The fault ring's sampling period while a recording wants Fault events (-Dmpsprot.jfr.faultSampling). */
  static final int SAMPLING = Math.max(1, Integer.getInteger("mpsprot.jfr.faultSampling", 1));

  /** Whether this runtime has the jdk.jfr module. */
  static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.jfr").isPresent();

  /** Follows recordings from now on (called once, at setup); never throws. */
  static void init(ProtOs os) {
    if (!AVAILABLE) {
      return;
    }
    try {
      JfrEvents.init(os);
    } catch (LinkageError e) {
      recording = false; // jdk.jfr not readable here: no events
    }
  }

  /** Whether the ring samples faults now (for tests). */
  static boolean ringOn() {
    return AVAILABLE && JfrEvents.ringOn();
  }

  /** The names of the module's event types, for tests and the docs; empty without jdk.jfr. */
  static List<String> eventNames() {
    return AVAILABLE ? JfrEvents.eventNames() : List.of();
  }

  // ---- The hooks: a token (an event) or null, then its end with the token ----

  static Object protSetBegin() {
    return recording ? JfrEvents.protSetBegin() : null;
  }

  static void protSetEnd(Object token, long base, long limit, String mode, int osCalls, boolean batch,
      String error) {
    if (token != null) {
      JfrEvents.protSetEnd(token, base, limit, mode, osCalls, batch, error);
    }
  }

  static Object harvestBegin() {
    return recording ? JfrEvents.harvestBegin() : null;
  }

  static void harvestEnd(Object token, long regionBase, long pages, long reported, AccessSet modeAfter,
      boolean touched, String error) {
    if (token != null) {
      JfrEvents.harvestEnd(token, regionBase, pages, reported, modeAfter, touched, error);
    }
  }

  static Object syncBegin() {
    return recording ? JfrEvents.syncBegin() : null;
  }

  static void syncEnd(Object token, int regions, long pages, int differences, int repaired) {
    if (token != null) {
      JfrEvents.syncEnd(token, regions, pages, differences, repaired);
    }
  }

  static Object reserveBegin() {
    return recording ? JfrEvents.reserveBegin() : null;
  }

  static void reserveEnd(Object token, long base, long alias, long size, int slot) {
    if (token != null) {
      JfrEvents.reserveEnd(token, base, alias, size, slot);
    }
  }

  static Object closeBegin() {
    return recording ? JfrEvents.closeBegin() : null;
  }

  static void closeEnd(Object token, long base, long size, int slot) {
    if (token != null) {
      JfrEvents.closeEnd(token, base, size, slot);
    }
  }

  static Object handoffBegin() {
    return recording ? JfrEvents.handoffBegin() : null;
  }

  static void handoffEnd(Object token, long address, AccessSet access, long osThreadId, long regionBase,
      long parkedNs, String outcome) {
    if (token != null) {
      JfrEvents.handoffEnd(token, address, access, osThreadId, regionBase, parkedNs, outcome);
    }
  }

  // ---- Field values ----

  /** An event's error field: the errno name of a failed OS call, else the exception's class. */
  static String errorName(RuntimeException e) {
    return e instanceof org.mpsprot.ProtOsException ? ((org.mpsprot.ProtOsException) e).errnoName()
        : e.getClass().getSimpleName();
  }

  static String accessName(int bits) {
    return bits == 1 ? "read" : bits == 2 ? "write" : bits == 3 ? "read or write" : "unknown";
  }

  static String policyName(int code) {
    for (BarrierPolicy p : BarrierPolicy.values()) {
      if (p.code() == code) {
        return p.name();
      }
    }
    return "code " + code;
  }

  /** mpsprot.h MPSPROT_FAULT_*. */
  static String resolutionName(int code) {
    switch (code) {
      case 1: return "unprotected";
      case 2: return "stepped";
      case 3: return "handed off";
      case 4: return "fell back";
      case 5: return "chained";
      case 6: return "spurious";
      default: return "code " + code;
    }
  }
}
