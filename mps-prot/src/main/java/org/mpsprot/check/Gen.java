package org.mpsprot.check;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * A generator of values of type {@code T} from a {@link Rand}.
 *
 * <p><b>Contract:</b> a generator must be a pure function of the {@code Rand} it is given: it draws
 * all its randomness from that argument (never from shared mutable state, the clock or
 * {@code Math.random}), so that equal seeds yield equal values. All combinators here keep that
 * property. Generators built here are immutable and may be shared between threads; the
 * {@code Rand} passed to them may not. Nothing is printed.
 *
 * <p>Numeric ranges are half-open ({@code hi} exclusive); list sizes are inclusive on both ends.
 *
 * @param <T> the type of generated values
 */
@FunctionalInterface
public interface Gen<T> {

  /** Generates one value, drawing randomness only from {@code r}. */
  T next(Rand r);

  /** Always returns {@code value}; draws nothing from the {@code Rand}. */
  static <T> Gen<T> constant(T value) {
    return r -> value;
  }

  /** Integers in {@code [lo, hiExclusive)}; requires {@code lo < hiExclusive}. */
  static Gen<Integer> ints(int lo, int hiExclusive) {
    if (lo >= hiExclusive) throw new IllegalArgumentException("empty range [" + lo + ", " + hiExclusive + ")");
    return r -> r.nextInt(lo, hiExclusive);
  }

  /** Longs in {@code [lo, hiExclusive)}; requires {@code lo < hiExclusive}. */
  static Gen<Long> longs(long lo, long hiExclusive) {
    if (lo >= hiExclusive) throw new IllegalArgumentException("empty range [" + lo + ", " + hiExclusive + ")");
    return r -> r.nextLong(lo, hiExclusive);
  }

  /** Picks one of the (non-empty list of) generators uniformly, then uses it. */
  @SafeVarargs
  static <T> Gen<T> oneOf(Gen<? extends T>... gens) {
    List<Gen<? extends T>> all = new ArrayList<>();
    for (Gen<? extends T> g : gens) all.add(Objects.requireNonNull(g, "generator"));
    if (all.isEmpty()) throw new IllegalArgumentException("oneOf needs at least one generator");
    return r -> r.pick(all).next(r);
  }

  /** Picks one of the (non-empty list of) values uniformly; the array is copied. */
  @SafeVarargs
  static <T> Gen<T> elements(T... values) {
    List<T> all = new ArrayList<>();
    for (T v : values) all.add(v);
    if (all.isEmpty()) throw new IllegalArgumentException("elements needs at least one value");
    return r -> r.pick(all);
  }

  /** Weighted choice between two generators; see {@link Frequency}. */
  static <T> Gen<T> frequency(int w1, Gen<? extends T> g1, int w2, Gen<? extends T> g2) {
    return Gen.<T>frequency().add(w1, g1).add(w2, g2).build();
  }

  /** Weighted choice between three generators; see {@link Frequency}. */
  static <T> Gen<T> frequency(int w1, Gen<? extends T> g1, int w2, Gen<? extends T> g2,
                int w3, Gen<? extends T> g3) {
    return Gen.<T>frequency().add(w1, g1).add(w2, g2).add(w3, g3).build();
  }

  /** A builder for a weighted choice between any number of generators. */
  static <T> Frequency<T> frequency() {
    return new Frequency<>();
  }

  /** Applies {@code f} to each generated value. */
  default <R> Gen<R> map(Function<? super T, ? extends R> f) {
    Objects.requireNonNull(f, "f");
    return r -> f.apply(next(r));
  }

  /** Generates a value, then uses the generator {@code f} returns for it (with the same Rand). */
  default <R> Gen<R> flatMap(Function<? super T, ? extends Gen<? extends R>> f) {
    Objects.requireNonNull(f, "f");
    return r -> f.apply(next(r)).next(r);
  }

  /** Mutable lists whose size is uniform in {@code [min, maxInclusive]}, elements from {@code element}. */
  static <T> Gen<List<T>> listOf(Gen<T> element, int min, int maxInclusive) {
    Objects.requireNonNull(element, "element");
    if (min < 0 || min > maxInclusive) throw new IllegalArgumentException("bad size range [" + min + ", " + maxInclusive + "]");
    return r -> {
      int n = r.nextInt(min, maxInclusive + 1);
      List<T> list = new ArrayList<>(n);
      for (int i = 0; i < n; i++) list.add(element.next(r));
      return list;
    };
  }

  /**
   * Builder for a weighted choice: a generator added with weight {@code w} is chosen with
   * probability {@code w / (sum of weights)}. Weight 0 is allowed and means "never chosen";
   * negative weights, or a total of 0, are rejected with {@link IllegalArgumentException}.
   * Not thread-safe; the built generator is immutable.
   */
  final class Frequency<T> {
    private final List<Integer> weights = new ArrayList<>();
    private final List<Gen<? extends T>> gens = new ArrayList<>();

    private Frequency() {}

    /** Adds {@code gen} with {@code weight >= 0}. */
    public Frequency<T> add(int weight, Gen<? extends T> gen) {
      if (weight < 0) throw new IllegalArgumentException("negative weight " + weight);
      weights.add(weight);
      gens.add(Objects.requireNonNull(gen, "gen"));
      return this;
    }

    /** The weighted generator; the builder may be reused afterwards without affecting it. */
    public Gen<T> build() {
      List<Integer> w = List.copyOf(weights);
      List<Gen<? extends T>> g = List.copyOf(gens);
      long total = 0;
      for (int x : w) total += x;
      if (total <= 0 || total > Integer.MAX_VALUE)
        throw new IllegalArgumentException("total weight must be in [1, 2^31-1], was " + total);
      int sum = (int) total;
      return r -> {
        int ticket = r.nextInt(sum);
        for (int i = 0; ; i++) {
          ticket -= w.get(i);
          if (ticket < 0) return g.get(i).next(r);
        }
      };
    }
  }
}
