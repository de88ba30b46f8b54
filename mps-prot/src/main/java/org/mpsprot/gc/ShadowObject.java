package org.mpsprot.gc;

/**
 * The verification model's copy of one heap object (docs/barriers.md .heap.verify): plain Java,
 * kept by the mutator API beside every store, never touched by a collector. Mutator-confined.
 */
final class ShadowObject {
  final int type;
  final ShadowObject[] refs;
  final long[] data;
  /** The verification pass that last reached this object, and the address it found it at. */
  long pass;
  long foundAt;

  ShadowObject(int type, int refs, int data) {
    this.type = type;
    this.refs = new ShadowObject[refs];
    this.data = new long[data];
  }
}
