package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.mpsprot.testing.ChildJvm;

/**
 * docs/design/fault.md .jfr.absent: on a runtime with only java.base and java.logging (an image
 * made by jlink without jdk.jfr and java.management; here {@code --limit-modules}) the module
 * works and has no events; before, {@code Prot.setup()} failed with NoClassDefFoundError:
 * jdk/jfr/FlightRecorderListener, and without java.management with
 * javax/management/InstanceAlreadyExistsException.
 */
class JfrAbsentTest {
  @Test
  void withoutTheJfrModuleTheModuleWorksAndHasNoEvents() throws Exception {
    ChildJvm.Result r = ChildJvm.run(JfrAbsentChild.class, 60,
        List.of("--limit-modules", "java.base,java.logging"));
    assertEquals(0, r.exit(), r.output());
    assertEquals("false", r.line("jdk.jfr"), "the child's runtime has no jdk.jfr: " + r.output());
    assertTrue(Long.parseLong(r.line("faults")) >= 10, r.output());
    assertEquals("8", r.line("harvested"), "every page written once: " + r.output());
    assertEquals("0", r.line("events"), r.output());
    assertEquals("false", r.line("ring"), r.output());
  }
}
