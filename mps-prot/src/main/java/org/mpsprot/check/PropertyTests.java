package org.mpsprot.check;

import java.util.Objects;
import org.junit.jupiter.api.DynamicTest;

/**
 * Properties as JUnit 5 dynamic tests (return them from a {@code @TestFactory}), with the seed in
 * the test's display name: {@code NAME [seed S]} or {@code NAME [replay S]}. Needs
 * junit-jupiter-api, like {@link PropertyCheck}.
 */
public final class PropertyTests {
  private PropertyTests() {}

  /**
   * A dynamic test that checks {@code property}. Its base seed is chosen now (the builder's, or a
   * fresh one) so that the display name can carry it; replay settings are read now too.
   */
  public static DynamicTest dynamicTest(StatefulProperty<?, ?> property) {
    Objects.requireNonNull(property, "property");
    if (property.configuredSeed() == null) property.seed(Settings.freshSeed());
    Long replay = property.effectiveReplay();
    String name = property.name() + (replay != null ? " [replay " + replay + "]"
        : " [seed " + property.configuredSeed() + "]");
    return DynamicTest.dynamicTest(name, () -> property.check());
  }
}
