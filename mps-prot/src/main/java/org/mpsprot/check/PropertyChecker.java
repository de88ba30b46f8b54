package org.mpsprot.check;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.BiConsumer;

/**
 * What a {@link PropertyCheck} method receives: runs properties with the annotation's settings
 * and reports each property's seed to JUnit. One per test method invocation; not thread-safe.
 */
public final class PropertyChecker {
  private final PropertyCheck settings;
  private final BiConsumer<String, String> report;
  private final List<String> checked = new ArrayList<>();

  PropertyChecker(PropertyCheck settings, BiConsumer<String, String> report) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.report = Objects.requireNonNull(report, "report");
  }

  /**
   * Checks a stateful property with the annotation's sequences, maxActions, seed and replay
   * (system properties still take precedence). The base seed is chosen, and reported, before
   * the first sequence runs.
   *
   * @return the summary of a passing run
   * @throws PropertyFailure if a sequence failed (after shrinking it)
   */
  public Result check(StatefulProperty<?, ?> property) {
    Objects.requireNonNull(property, "property");
    if (settings.sequences() > 0) property.sequences(settings.sequences());
    if (settings.maxActions() > 0) property.maxActions(settings.maxActions());
    if (settings.replay() != PropertyCheck.UNSET) property.replay(settings.replay());
    if (settings.seed() != PropertyCheck.UNSET) property.seed(settings.seed());
    else if (property.configuredSeed() == null) property.seed(Settings.freshSeed());
    Long replay = property.effectiveReplay();
    announce(property.name(), replay, property.configuredSeed());
    return property.check();
  }

  /**
   * Checks a simple property ({@link Property#forAll}) with the annotation's sequences (as tries,
   * default 100), seed and replay.
   */
  public <T> Result forAll(String name, Gen<T> gen, ThrowingConsumer<? super T> body) {
    Objects.requireNonNull(name, "name");
    int tries = settings.sequences() > 0 ? settings.sequences() : 100;
    long seed = settings.seed() != PropertyCheck.UNSET ? settings.seed() : Settings.freshSeed();
    Long replay = Settings.replaySeed(name);
    if (replay == null && settings.replay() != PropertyCheck.UNSET) replay = settings.replay();
    announce(name, replay, seed);
    return Property.run(name, gen, tries, seed, replay, body);
  }

  /** The names of the properties checked so far, in order. */
  public List<String> checked() {
    return List.copyOf(checked);
  }

  private void announce(String name, Long replay, Long seed) {
    checked.add(name);
    report.accept("mpsprot.check.property", name);
    if (replay != null) report.accept("mpsprot.check.replay", Long.toString(replay));
    else report.accept("mpsprot.check.seed", Long.toString(seed));
  }
}
