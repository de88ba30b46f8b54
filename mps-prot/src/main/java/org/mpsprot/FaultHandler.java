package org.mpsprot;

/**
 * A Java collector's resolution of a mutator fault in a {@link BarrierPolicy#HANDOFF} region.
 * It runs on the module's barrier thread while the faulting mutator is parked, and must leave
 * the fault resolved: lower the page's protection ({@link Prot#set}), or emulate the access
 * ({@link MutatorFaultContext#stepInstruction()}). It may scan or copy through the region's
 * alias view first.
 *
 * <p>If it throws, or returns without resolving the fault, the exception (or the reason) and
 * the context are reported on stderr and the mutator fails fast; it is never silently resumed.
 * It must not touch the mutator's view of a HANDOFF region itself.
 */
@FunctionalInterface
public interface FaultHandler {
  void handle(MutatorFaultContext context) throws Exception;
}
