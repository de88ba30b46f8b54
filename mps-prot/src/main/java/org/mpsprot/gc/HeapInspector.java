package org.mpsprot.gc;

/**
 * A collector's view of its heap for verification: reads through the alias views, and where a
 * reference's object lives now. Valid only inside {@link Collector#inspect}.
 */
interface HeapInspector {
  /**
   * The address of the object {@code ref} refers to (following a forwarding address while a
   * copy is in progress).
   *
   * @throws HeapVerificationException if ref points into no allocated part of a live space
   */
  long resolve(long ref);

  /** The word at a mutator-view address, read through the alias. */
  long load(long address);
}
