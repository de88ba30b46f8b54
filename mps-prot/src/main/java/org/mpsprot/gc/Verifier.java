package org.mpsprot.gc;

import java.util.Arrays;

/**
 * Compares the heap's live object graph with the shadow model (docs/barriers.md .heap.verify):
 * from every root, both graphs are walked together; every object the shadow reaches must be
 * reached in the heap too, at one address only (no object duplicated, none merged), with the
 * same type, number of references and data words, the same data, and references that agree
 * slot by slot. Runs inside {@link Collector#inspect}, on the mutator thread (it marks the
 * shadow objects with the pass number).
 */
final class Verifier {
  private static long passes;

  private final HeapInspector heap;
  private final long pass;
  private final AddressSet seen = new AddressSet();
  // The pending pairs, as parallel stacks: heap reference, shadow, and where it was found.
  private long[] refs = new long[1024];
  private ShadowObject[] shadows = new ShadowObject[1024];
  private long[] parents = new long[1024];
  private int[] fields = new int[1024];
  private int depth;

  private Verifier(HeapInspector heap) {
    this.heap = heap;
    this.pass = ++passes;
  }

  /**
   * Verifies the first {@code count} roots; returns the number of distinct objects checked.
   *
   * @throws HeapVerificationException at the first difference, naming the object and field
   */
  static long verify(int count, long[] roots, ShadowObject[] shadowRoots, HeapInspector heap) {
    Verifier v = new Verifier(heap);
    for (int i = 0; i < count; i++) {
      if ((roots[i] == 0) != (shadowRoots[i] == null)) {
        throw new HeapVerificationException(String.format("root %d holds 0x%x but the model says %s",
            i, roots[i], shadowRoots[i] == null ? "null" : "an object"));
      }
      if (roots[i] != 0) {
        v.push(roots[i], shadowRoots[i], -1, i);
      }
    }
    return v.run();
  }

  private void push(long ref, ShadowObject shadow, long parent, int field) {
    if (depth == refs.length) {
      int n = depth * 2;
      refs = Arrays.copyOf(refs, n);
      shadows = Arrays.copyOf(shadows, n);
      parents = Arrays.copyOf(parents, n);
      fields = Arrays.copyOf(fields, n);
    }
    refs[depth] = ref;
    shadows[depth] = shadow;
    parents[depth] = parent;
    fields[depth] = field;
    depth++;
  }

  private long run() {
    long objects = 0;
    while (depth > 0) {
      depth--;
      long ref = refs[depth];
      ShadowObject s = shadows[depth];
      shadows[depth] = null;
      long a;
      try {
        a = heap.resolve(ref);
      } catch (HeapVerificationException e) {
        throw failure(ref, parents[depth], fields[depth], e.getMessage());
      }
      if (s.pass == pass) {
        if (s.foundAt != a) {
          throw failure(ref, parents[depth], fields[depth],
              String.format("the object was found at 0x%x and at 0x%x: duplicated", s.foundAt, a));
        }
        continue;
      }
      if (!seen.add(a)) {
        throw failure(ref, parents[depth], fields[depth],
            String.format("0x%x holds an object the model has as another one: two objects merged", a));
      }
      s.pass = pass;
      s.foundAt = a;
      objects++;
      check(a, s, ref, parents[depth], fields[depth]);
    }
    return objects;
  }

  private void check(long a, ShadowObject s, long ref, long parent, int field) {
    long header = heap.load(a);
    int n = s.refs.length;
    int words = ObjectLayout.sizeWords(n, s.data.length);
    if (!ObjectLayout.isObject(header) || ObjectLayout.type(header) != s.type
        || ObjectLayout.refs(header) != n || ObjectLayout.sizeWords(header) != words) {
      throw failure(ref, parent, field, String.format("0x%x has %s; the model has type %d, %d refs, %d words",
          a, ObjectLayout.describe(header), s.type, n, words));
    }
    for (int i = 0; i < s.data.length; i++) {
      long v = heap.load(ObjectLayout.dataSlot(a, n, i));
      if (v != s.data[i]) {
        throw failure(ref, parent, field,
            String.format("data word %d of 0x%x is 0x%x; the model has 0x%x", i, a, v, s.data[i]));
      }
    }
    for (int i = 0; i < n; i++) {
      long v = heap.load(ObjectLayout.refSlot(a, i));
      ShadowObject child = s.refs[i];
      if ((v == 0) != (child == null)) {
        throw failure(ref, parent, field, String.format("reference %d of 0x%x is 0x%x; the model has %s",
            i, a, v, child == null ? "null" : "an object"));
      }
      if (v != 0) {
        push(v, child, a, i);
      }
    }
  }

  private static HeapVerificationException failure(long ref, long parent, int field, String what) {
    String where = parent < 0 ? "root " + field
        : String.format("the object referred to by slot %d of 0x%x", field, parent);
    return new HeapVerificationException("verification failed at " + where + " (reference 0x"
        + Long.toHexString(ref) + "): " + what);
  }

  /** A set of non-zero addresses: open addressing, linear probing, no boxing. */
  private static final class AddressSet {
    private long[] table = new long[1 << 12];
    private int size;

    /** Adds a; false if it was there. */
    boolean add(long a) {
      if (2 * (size + 1) > table.length) {
        grow();
      }
      int mask = table.length - 1;
      int i = hash(a) & mask;
      while (table[i] != 0) {
        if (table[i] == a) {
          return false;
        }
        i = (i + 1) & mask;
      }
      table[i] = a;
      size++;
      return true;
    }

    private void grow() {
      long[] old = table;
      table = new long[old.length * 2];
      size = 0;
      for (long a : old) {
        if (a != 0) {
          add(a);
        }
      }
    }

    private static int hash(long a) {
      long h = (a >>> 3) * 0x9E3779B97F4A7C15L;
      return (int) (h >>> 32);
    }
  }
}
