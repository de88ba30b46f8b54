package org.mpsprot.gc;

import java.nio.ByteBuffer;

/**
 * Loads and stores through direct buffers over the spaces' mutator views: plain, JIT-compiled
 * accesses that the hardware strategies track (a write fault resolved in the module's handler,
 * or a userfaultfd write-protect resolved by the kernel; both safe in any thread state).
 */
final class ViewMemory implements MutatorMemory {
  private final long[] bases;
  private final long[] sizes;
  private final ByteBuffer[] views;

  ViewMemory(Space... spaces) {
    bases = new long[spaces.length];
    sizes = new long[spaces.length];
    views = new ByteBuffer[spaces.length];
    for (int i = 0; i < spaces.length; i++) {
      bases[i] = spaces[i].base;
      sizes[i] = spaces[i].size;
      views[i] = spaces[i].region.mutatorView();
    }
  }

  private int space(long address) {
    for (int i = 0; i < bases.length; i++) {
      if (address - bases[i] >= 0 && address - bases[i] < sizes[i]) {
        return i;
      }
    }
    throw new HeapVerificationException(String.format("the mutator accessed 0x%x, outside every space of the heap", address));
  }

  @Override
  public long load(long address) {
    int i = space(address);
    return views[i].getLong((int) (address - bases[i]));
  }

  @Override
  public void store(long address, long value) {
    int i = space(address);
    views[i].putLong((int) (address - bases[i]), value);
  }
}
