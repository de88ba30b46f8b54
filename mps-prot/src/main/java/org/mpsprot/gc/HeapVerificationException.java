package org.mpsprot.gc;

/**
 * The heap is not what the mutator made it: a live object was lost or its contents changed
 * (found by verification against the shadow model), or a reference leads to something that is
 * not an object (a stale reference into evacuated, poisoned memory). The message says which
 * object, which field, what was expected and what was found.
 */
public class HeapVerificationException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public HeapVerificationException(String message) {
    super(message);
  }
}
