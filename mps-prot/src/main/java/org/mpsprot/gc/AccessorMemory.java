package org.mpsprot.gc;

import org.mpsprot.Accessors;

/**
 * Loads and stores through the module's native accessors ({@link Accessors}): each access runs
 * inside the C shim, so a fault it takes on a read-protected to-space page happens while the
 * thread is in native state, where the module may park it until a Java collector has scanned the
 * page (docs/design/fault.md .rule.native). A JIT-compiled access to such a page would be
 * refused with a fail-fast message instead: parking a thread that is "in Java" can deadlock
 * the JVM at its next safepoint. Each access costs a JNA direct call.
 */
final class AccessorMemory implements MutatorMemory {
  @Override
  public long load(long address) {
    return Accessors.getLong(address);
  }

  @Override
  public void store(long address, long value) {
    Accessors.putLong(address, value);
  }
}
