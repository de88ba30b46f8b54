package org.mpsprot.barrier;

import java.util.Objects;

/**
 * Whether a {@link WriteBarrierStrategy} works on this machine, and why (docs/barriers.md
 * .avail). An unavailable strategy always says why (kernel version, missing privilege, failed
 * self-test, a shim built without the backend), so that a caller can report it and fall back.
 * Immutable and thread-safe.
 *
 * @param available whether {@link WriteBarrierStrategy#attach} can succeed
 * @param reason what was found: for an available strategy, what it rests on; for an
 *     unavailable one, why not and what would make it work. Never null or blank.
 */
public record Availability(boolean available, String reason) {
  public Availability {
    Objects.requireNonNull(reason, "reason");
    if (reason.isBlank()) {
      throw new IllegalArgumentException("an availability needs a reason");
    }
  }

  /** Available, resting on {@code detail}. */
  public static Availability yes(String detail) {
    return new Availability(true, detail);
  }

  /** Unavailable because of {@code reason}. */
  public static Availability no(String reason) {
    return new Availability(false, reason);
  }

  @Override
  public String toString() {
    return (available ? "available: " : "unavailable: ") + reason;
  }
}
