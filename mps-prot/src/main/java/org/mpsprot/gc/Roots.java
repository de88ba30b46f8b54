package org.mpsprot.gc;

/**
 * The mutator's roots as a collector sees them: slots holding object addresses (0 = none) that
 * a moving collector updates. Accessed only by the mutator thread, or while it is stopped.
 */
interface Roots {
  int count();

  long get(int i);

  void set(int i, long address);
}
