package org.mpsprot;

/**
 * What a {@link BarrierPolicy#HANDOFF} region does with a fault that may not park because it
 * was taken outside native state, typically in JIT-compiled Java code (.rule.native): parking
 * such a thread until Java resolves the fault deadlocks the JVM at its next safepoint.
 */
public enum HandoffFallback {
  /** One clear message on stderr (address, thread, access, the rule), then abort. */
  FAIL_FAST(0),
  /** Resolve it in the handler as {@link BarrierPolicy#UNPROTECT} does. */
  UNPROTECT(1);

  private final int code;

  HandoffFallback(int code) {
    this.code = code;
  }

  /** The shim's MPSPROT_FALLBACK_* value. */
  public int code() {
    return code;
  }
}
