package org.mpsprot.barrier;

/**
 * {@link WriteBarrierStrategy#attach} was asked of a strategy that does not work here; the
 * message carries the strategy's {@link Availability#reason()}. Catch it to fall back to another
 * strategy (card marking is always available).
 */
public final class StrategyUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient Availability availability;

  public StrategyUnavailableException(String strategy, Availability availability) {
    super("write-barrier strategy '" + strategy + "' is unavailable on this machine: "
        + availability.reason() + ". What to do: choose another strategy (card marking works"
        + " everywhere) or fix the cause named above");
    this.availability = availability;
  }

  /** The availability that refused the attach. */
  public Availability availability() {
    return availability;
  }
}
