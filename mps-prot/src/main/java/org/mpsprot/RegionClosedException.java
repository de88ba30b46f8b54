package org.mpsprot;

/** A {@link Region} was used after {@link Region#close()}. Nothing was changed. */
public class RegionClosedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public RegionClosedException(String message) {
    super(message);
  }
}
