package org.mpsprot;

/**
 * The module's counters as a platform MXBean (docs/design/fault.md .mxbean), registered on demand
 * by {@link Prot#registerMXBean()} under {@value #OBJECT_NAME} and visible in JConsole and JDK
 * Mission Control (MBeans tab). Every attribute is read when it is asked for, from the live
 * module: the fault counters ({@link FaultCounters}) are the shim's monotonic counters read one by
 * one without stopping anyone, so attributes read together (one JConsole refresh) are a racy
 * snapshot from slightly different moments; {@link #getOsProtectCalls()} takes the module's lock
 * for a moment; {@link #getLiveRegions()} counts the module's live regions at that moment. No
 * attribute changes anything.
 */
public interface ProtMXBean {
  /** The ObjectName the bean is registered under. */
  String OBJECT_NAME = "org.mpsprot:type=Prot";

  /** {@link FaultCounters#readFaults()}. */
  long getReadFaults();

  /** {@link FaultCounters#writeFaults()}. */
  long getWriteFaults();

  /** {@link FaultCounters#unprotected()}. */
  long getUnprotected();

  /** {@link FaultCounters#stepped()}. */
  long getStepped();

  /** {@link FaultCounters#handoffs()}. */
  long getHandoffs();

  /** {@link FaultCounters#spurious()}. */
  long getSpurious();

  /** {@link FaultCounters#chained()}. */
  long getChained();

  /** {@link FaultCounters#failFast()}. */
  long getFailFast();

  /** {@link FaultCounters#logFull()}. */
  long getLogFull();

  /** {@link Prot#osProtectCalls()}. */
  long getOsProtectCalls();

  /** {@link Prot#handlerInstalled()}. */
  boolean isHandlerInstalled();

  /** The regions of this module that are live (reserved and not closed). */
  int getLiveRegions();

  /**
   * Fault records the shim's fault ring dropped because it was full since the process started
   * (fault.md .ring): nonzero means JFR's {@code org.mpsprot.Fault} events missed faults.
   */
  long getFaultRingDropped();
}
