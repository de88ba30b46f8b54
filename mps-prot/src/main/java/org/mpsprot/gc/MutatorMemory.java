package org.mpsprot.gc;

/**
 * How the mutator loads and stores heap words at mutator-view addresses: through the spaces'
 * mutator views in JIT-compiled Java ({@link ViewMemory}, for the write barriers), or through
 * the module's native accessors ({@link AccessorMemory}, for the read barrier, whose faults a
 * Java collector resolves). Implementations are thread-safe as plain memory is.
 */
interface MutatorMemory {
  long load(long address);

  void store(long address, long value);
}
