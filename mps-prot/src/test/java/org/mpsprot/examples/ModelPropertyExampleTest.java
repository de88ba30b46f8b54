package org.mpsprot.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mpsprot.AccessSet;
import org.mpsprot.check.PropertyCheck;
import org.mpsprot.check.PropertyChecker;
import org.mpsprot.check.PropertyFailure;
import org.mpsprot.check.Result;

/**
 * Runs docs/testing.md's worked example ({@link ModelPropertyExample}): the protocol holds; the
 * broken protocol (the harvest forgets to re-protect, so the next write to that page is missed)
 * is caught, shrunk to its four essential actions, and replayed by the flag its report prints;
 * and the doc shows the example's code as it is.
 */
class ModelPropertyExampleTest {
  @PropertyCheck(sequences = 200, maxActions = 25)
  void theProtocolKeepsEveryWrite(PropertyChecker checker) {
    Result r = checker.check(ModelPropertyExample.property(AccessSet.WRITE));
    assertTrue(r.replay() || r.sequences() == 200, "sequences: " + r.sequences());
  }

  @Test
  void aProtocolThatForgetsToReprotectIsCaughtShrunkAndReplayed() {
    PropertyFailure f = assertThrows(PropertyFailure.class,
        () -> ModelPropertyExample.property(AccessSet.EMPTY).seed(14).sequences(200).check());
    List<?> shrunk = f.counterexample();
    // write p; harvest (p open again, not protected); write p (no fault: missed); harvest.
    assertEquals(4, shrunk.size(), f.getMessage());
    assertTrue(shrunk.get(0) instanceof ModelPropertyExample.Write w0
        && shrunk.get(2) instanceof ModelPropertyExample.Write w2 && w0.page() == w2.page(), f.getMessage());
    assertTrue(shrunk.get(1) instanceof ModelPropertyExample.Harvest
        && shrunk.get(3) instanceof ModelPropertyExample.Harvest, f.getMessage());
    String flag = "mpsprot.check.seed.write_barrier_keeps_every_write";
    assertTrue(f.getMessage().contains("-D" + flag + "=" + f.seed()), f.getMessage());

    String old = System.setProperty(flag, Long.toString(f.seed()));
    try {
      PropertyFailure again = assertThrows(PropertyFailure.class,
          () -> ModelPropertyExample.property(AccessSet.EMPTY).check());
      assertEquals(f.seed(), again.seed());
      assertEquals(f.counterexample(), again.counterexample(), "the replay reproduces the counterexample");
    } finally {
      if (old == null) {
        System.clearProperty(flag);
      } else {
        System.setProperty(flag, old);
      }
    }
  }

  @Test
  void theDocShowsTheExamplesCode() throws IOException {
    String source = Files.readString(Path.of("src/test/java/org/mpsprot/examples/ModelPropertyExample.java"));
    String code = source.substring(source.indexOf("// doc:begin\n") + "// doc:begin\n".length(),
        source.indexOf("  // doc:end"));
    String doc = Files.readString(Path.of("../docs/testing.md"));
    String unindented = code.lines().map(l -> l.startsWith("  ") ? l.substring(2) : l)
        .reduce("", (a, b) -> a + b + "\n");
    assertTrue(doc.contains(unindented), "docs/testing.md must show ModelPropertyExample's code between its doc"
        + " markers, unindented by two spaces:\n" + unindented);
  }
}
