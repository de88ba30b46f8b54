package org.mpsprot.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.mpsprot.testing.ChildJvm;

/**
 * Prot.uninstallHandler(): refused while regions are live, and (Linux) refused with its own
 * reason while another handler stands over the module's; restores the JVM's handler.
 */
class UninstallTest {
  @Test
  void uninstallIsRefusedWhileRegionsLiveAndRestoresThePreviousHandler() throws Exception {
    ChildJvm.Result r = ChildJvm.run(UninstallChild.class, 60, List.of("-Xmx64m"));
    assertEquals(0, r.exit(), r.output());
    assertEquals("true", r.line("INSTALLED"));
    String refused = r.line("REFUSED");
    assertTrue(refused.contains("1 regions are live") && refused.contains("close them first"), refused);
    String over = r.line("OVER");
    if (!over.equals("skipped")) {
      assertTrue(over.contains("another SIGSEGV or SIGBUS handler was installed over the module's"),
          "the refusal under another handler names that reason: " + over);
      assertTrue(over.contains("put back the action it replaced"), "and says what to do: " + over);
      assertFalse(over.contains("regions are live"), "not the live-regions reason: " + over);
      assertTrue(over.endsWith("installed=true"), "nothing changed: " + over);
    }
    assertEquals("false npes=6250", r.line("AFTER"), "the JVM's handler is back: NPEs still work");
    assertEquals("true dirty=true npes=6250", r.line("AGAIN"), "a reserve installs the handler again");
  }
}
