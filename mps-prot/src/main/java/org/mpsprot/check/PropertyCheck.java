package org.mpsprot.check;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Makes a JUnit 5 test method a property: the method takes a {@link PropertyChecker} parameter
 * and checks its properties through it, with this annotation's settings.
 *
 * <pre>{@code
 * @PropertyCheck(sequences = 200, maxActions = 20)
 * void stackBehaves(PropertyChecker checker) {
 *   checker.check(StatefulProperty.of("stack", new StackMachine()));
 * }
 * }</pre>
 *
 * <p><b>Report:</b> each property checked publishes JUnit report entries
 * ({@code mpsprot.check.property}, {@code mpsprot.check.seed}: its base seed, or
 * {@code mpsprot.check.replay}: the sequence replayed), which IDEs and the console launcher
 * show. On failure the {@link PropertyFailure}'s message ends with the replay hint: the
 * {@code -Dmpsprot.check.seed.KEY=S} flag for this property alone, the global
 * {@code -Dmpsprot.check.seed=S}, and the annotation attribute {@code replay = S}.
 *
 * <p><b>Precedence</b> (highest first): the system properties of {@link StatefulProperty}
 * (per-property seed, global seed, sequences, maxActions), then this annotation's attributes,
 * then the values set on the property's builder, then the defaults.
 *
 * <p><b>Dependency:</b> this annotation and {@link PropertyCheckExtension} are the only classes
 * of the module that need JUnit 5 (junit-jupiter-api; {@link PropertyTests} too). mps-prot
 * declares it {@code <scope>provided</scope>}: it is not passed on to users nor shaded into the
 * jar; a project that uses these classes has JUnit 5 on its test class path already, and a
 * project that does not never loads them and needs no JUnit.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
@Test
@ExtendWith(PropertyCheckExtension.class)
public @interface PropertyCheck {
  /** The value of {@link #seed} and {@link #replay} that means "not set". */
  long UNSET = Long.MIN_VALUE;

  /** Number of sequences (or tries) per property; 0 keeps the builder's value. */
  int sequences() default 0;

  /** Maximum actions per sequence; 0 keeps the builder's value. */
  int maxActions() default 0;

  /** Fixed base seed; {@link #UNSET} (the default) keeps the builder's, else time-based. */
  long seed() default UNSET;

  /**
   * Replays the one sequence (or try) with this seed, as a failure reported it; {@link #UNSET}
   * (the default): no replay. The system properties take precedence.
   */
  long replay() default UNSET;
}
