package org.mpsprot.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RandTest {

  private static List<Object> draw(Rand r) {
    List<Object> out = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      out.add(r.nextInt(1000));
      out.add(r.nextInt(-5, 5));
      out.add(r.nextLong(Long.MIN_VALUE / 2, Long.MAX_VALUE / 2));
      out.add(r.nextBoolean());
      out.add(r.nextDouble());
      out.add(r.pick("a", "b", "c", "d"));
      out.add(r.pick(List.of(1, 2, 3)));
      out.add(r.split().nextLong(0, Long.MAX_VALUE));
    }
    return out;
  }

  @Test
  void sameSeedGivesSameSequence() {
    assertEquals(draw(new Rand(42)), draw(new Rand(42)));
    assertEquals(draw(new Rand(-7)), draw(new Rand(-7)));
    assertEquals(42, new Rand(42).seed());
  }

  @Test
  void differentSeedsDiffer() {
    assertNotEquals(draw(new Rand(1)), draw(new Rand(2)));
    Set<Long> firsts = new HashSet<>();
    for (long s = 0; s < 100; s++) firsts.add(new Rand(s).nextLong(Long.MIN_VALUE, Long.MAX_VALUE));
    assertEquals(100, firsts.size(), "first draws of 100 seeds should all differ");
  }

  @Test
  void boundsAreRespected() {
    Rand r = new Rand(123);
    Set<Integer> small = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      int a = r.nextInt(7);
      assertTrue(a >= 0 && a < 7, "nextInt(7) = " + a);
      small.add(a);
      int b = r.nextInt(-3, 4);
      assertTrue(b >= -3 && b < 4, "nextInt(-3,4) = " + b);
      long c = r.nextLong(1_000_000_000_000L, 1_000_000_000_005L);
      assertTrue(c >= 1_000_000_000_000L && c < 1_000_000_000_005L, "nextLong = " + c);
      double d = r.nextDouble();
      assertTrue(d >= 0.0 && d < 1.0, "nextDouble = " + d);
    }
    assertEquals(7, small.size(), "all of [0,7) should be hit");
    assertThrows(IllegalArgumentException.class, () -> r.nextInt(0));
    assertThrows(IllegalArgumentException.class, () -> r.nextInt(5, 5));
    assertThrows(IllegalArgumentException.class, () -> r.pick(List.of()));
  }

  @Test
  void pickCoversAllElements() {
    Rand r = new Rand(9);
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 1000; i++) seen.add(r.pick("x", "y", "z"));
    assertEquals(Set.of("x", "y", "z"), seen);
  }

  @Test
  void splitIsDeterministicAndIndependent() {
    Rand a = new Rand(5), b = new Rand(5);
    Rand sa = a.split(), sb = b.split();
    assertEquals(sa.seed(), sb.seed());
    assertEquals(sa.nextLong(0, Long.MAX_VALUE), sb.nextLong(0, Long.MAX_VALUE));
    assertNotEquals(a.seed(), sa.seed());
    assertEquals(a.nextInt(1_000_000), b.nextInt(1_000_000), "parents stay in lockstep");
  }
}
