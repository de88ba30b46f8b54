package org.mpsprot.gc;

/** The live data and the allocation that was asked for do not fit the heap's spaces. */
public final class HeapExhaustedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public HeapExhaustedException(String message) {
    super(message);
  }
}
