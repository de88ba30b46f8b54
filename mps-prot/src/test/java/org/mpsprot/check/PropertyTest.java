package org.mpsprot.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PropertyTest {

  @Test
  void passingPropertyRunsAllTries() {
    List<Integer> seen = new ArrayList<>();
    Result r = Property.forAll("abs-nonneg", Gen.ints(-1000, 1000), 300, 5L, x -> {
      seen.add(x);
      assertTrue(Math.abs(x) >= 0);
    });
    assertEquals(300, r.sequences());
    assertEquals(300, seen.size());
    assertEquals(5, r.seed());
  }

  @Test
  void failingPropertyReportsValueAndSeedAndReplays() {
    Gen<List<Integer>> lists = Gen.listOf(Gen.ints(0, 100), 0, 10);
    ThrowingConsumer<List<Integer>> noBigSum = l -> assertTrue(l.stream().mapToInt(Integer::intValue).sum() < 400, "sum too big: " + l);
    PropertyFailure f = assertThrows(PropertyFailure.class, () -> Property.forAll("small-sum", lists, 1000, 17L, noBigSum));
    Object value = f.counterexample().get(0);
    String msg = f.getMessage();
    assertTrue(msg.contains("small-sum"), msg);
    assertTrue(msg.contains("-Dmpsprot.check.seed=" + f.seed()), msg);
    assertTrue(msg.contains(value.toString()), msg);
    assertTrue(f.getCause().getMessage().contains("sum too big"), msg);

    PropertyFailure again = Toys.withProperty("mpsprot.check.seed", Long.toString(f.seed()),
        () -> assertThrows(PropertyFailure.class, () -> Property.forAll("small-sum", lists, 1000, noBigSum)));
    assertEquals(value, again.counterexample().get(0));
    assertEquals(f.seed(), again.seed());
  }

  @Test
  void sequencesPropertyOverridesTries() {
    Result r = Toys.withProperty("mpsprot.check.sequences", "12",
        () -> Property.forAll("count", Gen.constant(1), 1000, v -> {}));
    assertEquals(12, r.sequences());
  }
}
