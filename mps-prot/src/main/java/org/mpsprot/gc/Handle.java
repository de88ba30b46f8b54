package org.mpsprot.gc;

/**
 * A root: the mutator's reference to a heap object, which the collector updates when it moves
 * the object. Handles live on the heap's handle stack until {@link Heap#release(int)} pops them
 * (as JNI local references do); a released handle may not be used. Confined to the mutator
 * thread, as the heap is.
 */
public final class Handle {
  final Heap heap;
  int slot;

  Handle(Heap heap, int slot) {
    this.heap = heap;
    this.slot = slot;
  }

  /** Whether the handle is still on its heap's stack. */
  public boolean isLive() {
    return slot >= 0;
  }

  @Override
  public String toString() {
    return slot < 0 ? "Handle(released)" : "Handle#" + slot;
  }
}
