package org.mpsprot.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class GenTest {
  private static final int N = 5_000;

  @Test
  void intsAndLongsStayInRange() {
    Rand r = new Rand(1);
    Gen<Integer> ints = Gen.ints(-10, 10);
    Gen<Long> longs = Gen.longs(Long.MAX_VALUE - 3, Long.MAX_VALUE);
    Set<Integer> seen = new HashSet<>();
    for (int i = 0; i < N; i++) {
      int x = ints.next(r);
      assertTrue(x >= -10 && x < 10, "ints: " + x);
      seen.add(x);
      long y = longs.next(r);
      assertTrue(y >= Long.MAX_VALUE - 3 && y < Long.MAX_VALUE, "longs: " + y);
    }
    assertEquals(20, seen.size());
    assertThrows(IllegalArgumentException.class, () -> Gen.ints(3, 3));
    assertThrows(IllegalArgumentException.class, () -> Gen.longs(4, 3));
  }

  @Test
  void constantElementsOneOf() {
    Rand r = new Rand(2);
    assertEquals("k", Gen.constant("k").next(r));
    Set<String> el = new HashSet<>(), one = new HashSet<>();
    Gen<String> elements = Gen.elements("a", "b", "c");
    Gen<Object> oneOf = Gen.oneOf(Gen.constant("s"), Gen.ints(100, 101), Gen.constant('c'));
    for (int i = 0; i < N; i++) {
      el.add(elements.next(r));
      one.add(String.valueOf(oneOf.next(r)));
    }
    assertEquals(Set.of("a", "b", "c"), el);
    assertEquals(Set.of("s", "100", "c"), one);
  }

  @Test
  void frequencyRespectsWeights() {
    Rand r = new Rand(3);
    Gen<String> g = Gen.frequency(0, Gen.constant("never"), 3, Gen.constant("often"), 1, Gen.constant("rare"));
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i < N; i++) counts.merge(g.next(r), 1, Integer::sum);
    assertEquals(Set.of("often", "rare"), counts.keySet(), "zero weight must never be chosen");
    assertTrue(counts.get("often") > 2 * counts.get("rare"), "3:1 weights: " + counts);

    Gen<String> zeroLast = Gen.<String>frequency().add(1, Gen.constant("only")).add(0, Gen.constant("no")).build();
    for (int i = 0; i < N; i++) assertEquals("only", zeroLast.next(r));

    assertThrows(IllegalArgumentException.class, () -> Gen.frequency(0, Gen.constant(1), 0, Gen.constant(2)));
    assertThrows(IllegalArgumentException.class, () -> Gen.frequency(-1, Gen.constant(1), 2, Gen.constant(2)));
  }

  @Test
  void mapFlatMapListOf() {
    Rand r = new Rand(4);
    Gen<Integer> evens = Gen.ints(0, 50).map(x -> x * 2);
    Gen<List<Integer>> dependent = Gen.ints(1, 4).flatMap(n -> Gen.listOf(Gen.constant(n), n, n));
    Gen<List<Integer>> lists = Gen.listOf(Gen.ints(5, 8), 2, 4);
    Set<Integer> sizes = new HashSet<>();
    for (int i = 0; i < N; i++) {
      int e = evens.next(r);
      assertTrue(e % 2 == 0 && e >= 0 && e < 100, "map: " + e);
      List<Integer> d = dependent.next(r);
      assertTrue(d.size() >= 1 && d.size() <= 3 && d.stream().allMatch(x -> x == d.size()), "flatMap: " + d);
      List<Integer> l = lists.next(r);
      sizes.add(l.size());
      assertTrue(l.stream().allMatch(x -> x >= 5 && x < 8), "listOf elements: " + l);
    }
    assertEquals(Set.of(2, 3, 4), sizes, "listOf sizes are inclusive [min, max]");
    assertThrows(IllegalArgumentException.class, () -> Gen.listOf(Gen.constant(1), 3, 2));
  }

  @Test
  void generatorsAreDeterministic() {
    Gen<List<Integer>> g = Gen.listOf(Gen.ints(0, 1000), 0, 20);
    assertEquals(g.next(new Rand(77)), g.next(new Rand(77)));
  }
}
