package org.mpsprot;

/**
 * One access emulated by {@link BarrierPolicy#STEP}: where, what kind, how many bytes, and the
 * memory's value before and after (for a load, both are the value loaded; 16-byte accesses keep
 * their low 8 bytes).
 */
public record AccessLogEntry(long address, Access access, int size, long before, long after) {}
