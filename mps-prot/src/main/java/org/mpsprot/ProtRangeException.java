package org.mpsprot;

/**
 * A request named memory the module may not change: a bound that is not a multiple of the
 * granularity, {@code base >= limit}, a range not wholly inside one live region, or a size
 * the module cannot reserve. The message names the values and what is allowed. Nothing was
 * changed when this is thrown.
 */
public class ProtRangeException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public ProtRangeException(String message) {
    super(message);
  }
}
