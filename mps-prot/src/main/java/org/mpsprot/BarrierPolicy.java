package org.mpsprot;

/**
 * How the module resolves a mutator's fault in a region (docs/design/fault.md .policy). Set
 * per region with {@link Region#setPolicy} or {@link Region#setHandoff}.
 *
 * <table>
 *   <caption>Which policy for which mutator</caption>
 *   <tr><th>policy</th><th>resolved by</th><th>safe for a JIT-compiled Java mutator</th></tr>
 *   <tr><td>{@link #UNPROTECT}</td><td>the handler, no Java</td><td>yes</td></tr>
 *   <tr><td>{@link #STEP}</td><td>the handler, no Java</td><td>yes</td></tr>
 *   <tr><td>{@link #HANDOFF}</td><td>a Java collector on the barrier thread</td>
 *       <td>no: only faults taken in native state park (the module's {@link Accessors}, or
 *       declared native mutators); others take the region's {@link HandoffFallback}</td></tr>
 * </table>
 *
 * <p>Declaring a native mutator ({@code mpsprot_native_mutator_begin}) is for C code only and
 * has no Java API: the handler trusts the declaration, so a Java thread declared around Java
 * code would park in Java state on a fault, the safepoint deadlock that docs/design/fault.md
 * .rule.native forbids (.rule.native.declare). From Java, use {@link Accessors}.
 */
public enum BarrierPolicy {
  /** No barrier: a fault in the region is a bug; the process fails fast with a message. */
  NONE(0),
  /**
   * Unprotect-and-record: the handler gives the page the access it needed and sets its bit in
   * the region's dirty (write) or touched (read) bitmap; {@link Region#harvest} reports and
   * re-protects. A write barrier with no Java on the fault path.
   */
  UNPROTECT(1),
  /**
   * Step-and-record: the handler emulates the faulting load or store through the alias view and
   * logs it ({@link Region#drainLog()}), leaving the protection in place; where it cannot step
   * (or the log is full) it falls back to {@link #UNPROTECT}, so nothing is lost.
   */
  STEP(2),
  /**
   * Handoff: the faulting thread parks in the handler and a Java {@link FaultHandler} resolves
   * the fault on the module's barrier thread. Only for faults taken in native state.
   */
  HANDOFF(3);

  private final int code;

  BarrierPolicy(int code) {
    this.code = code;
  }

  /** The shim's MPSPROT_POLICY_* value. */
  public int code() {
    return code;
  }
}
