package org.mpsprot.barrier;

import java.util.List;
import java.util.Locale;

/**
 * The write-barrier strategies the module offers, in the order the demo and the docs present
 * them: protection faults, userfaultfd, soft-dirty, card marking (docs/barriers.md). Each is
 * listed whether or not it is available here; ask {@link WriteBarrierStrategy#availability()}.
 */
public final class Strategies {
  private Strategies() {}

  /** Fresh instances of every strategy (card marking with 512-byte cards). */
  public static List<WriteBarrierStrategy> all() {
    return List.of(new FaultStrategy(), new UffdStrategy(), new SoftDirtyStrategy(), new CardMarkingStrategy());
  }

  /**
   * The strategy called {@code name} ("fault", "uffd", "soft-dirty", "cards", or
   * "cards-page" for cards of one page).
   *
   * @throws IllegalArgumentException for any other name, listing the known ones
   */
  public static WriteBarrierStrategy byName(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    if (n.equals("cards-page")) {
      return new CardMarkingStrategy((int) org.mpsprot.Prot.setup().granularity());
    }
    for (WriteBarrierStrategy s : all()) {
      if (s.name().equals(n)) {
        return s;
      }
    }
    throw new IllegalArgumentException("unknown write-barrier strategy '" + name
        + "': known are fault, uffd, soft-dirty, cards, cards-page");
  }
}
