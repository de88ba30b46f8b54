package org.mpsprot.gc;

import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The demo's built-in workload (docs/barriers.md .demo.workload): allocation in the style of the
 * binary-trees benchmark, plus stores of old-to-young references.
 *
 * <ul>
 *   <li>A long-lived tree of depth {@code maxDepth} is built first; it is promoted at the first
 *       collections and stays live to the end.
 *   <li>For depth d = minDepth, minDepth + 2, ..., maxDepth: 2^(maxDepth - d + minDepth)
 *       short-lived trees of depth d are built, walked (each node's item checked) and dropped.
 *   <li>After each short-lived tree, {@code storesPerTree} times: walk a random path down the
 *       long-lived tree, and store into the node's extra slot a fresh (young) object: a payload
 *       chain, or a small tree, or null; sometimes re-read and check the payload that was there,
 *       or rewrite its data. These are the old-to-young references a remembered set must find.
 * </ul>
 *
 * Node: type {@link #NODE}, references {left, right, extra}, data {item}. Payload: type
 * {@link #PAYLOAD}, references {next}, data {value, ~value}. Deterministic for a seed.
 * Mutator-confined, as the heap.
 */
public final class Workload {
  public static final int NODE = 1;
  public static final int PAYLOAD = 2;
  private static final int LEFT = 0;
  private static final int RIGHT = 1;
  private static final int EXTRA = 2;

  /**
   * @param maxDepth depth of the long-lived tree and of the deepest short-lived trees (4 .. 24)
   * @param minDepth depth of the shallowest short-lived trees (2 .. maxDepth)
   * @param storesPerTree old-to-young stores after each short-lived tree
   * @param seed the random seed
   */
  public record Params(int maxDepth, int minDepth, int storesPerTree, long seed) {
    public Params {
      if (maxDepth < 4 || maxDepth > 24 || minDepth < 2 || minDepth > maxDepth || storesPerTree < 0) {
        throw new IllegalArgumentException("workload depth " + maxDepth + " (allowed 4..24), min depth " + minDepth
            + " (allowed 2..max), stores per tree " + storesPerTree + " (>= 0)");
      }
    }

    public static Params of(int maxDepth, long seed) {
      return new Params(maxDepth, 4, 8, seed);
    }

    /** Nodes the workload allocates, roughly. */
    public long nodes() {
      long n = (1L << (maxDepth + 1)) - 1;
      for (int d = minDepth; d <= maxDepth; d += 2) {
        n += (1L << (maxDepth - d + minDepth)) * ((1L << (d + 1)) - 1);
      }
      return n;
    }
  }

  private final Heap heap;
  private final Params params;
  private final SplittableRandom rnd;
  private long stores;

  public Workload(Heap heap, Params params) {
    this.heap = heap;
    this.params = params;
    this.rnd = new SplittableRandom(params.seed());
  }

  /** Old-to-young reference stores made so far. */
  public long stores() {
    return stores;
  }

  /**
   * Runs the workload; {@code progress} receives a line per depth. A verifying heap is verified
   * once more at the end.
   *
   * @throws HeapVerificationException when the heap differs from the model
   * @throws IllegalStateException when a tree's check sum is wrong
   */
  public void run(Consumer<String> progress) {
    int base = heap.mark();
    Handle longLived = bottomUp(params.maxDepth());
    for (int d = params.minDepth(); d <= params.maxDepth(); d += 2) {
      int iterations = 1 << (params.maxDepth() - d + params.minDepth());
      long check = 0;
      for (int i = 0; i < iterations; i++) {
        int m = heap.mark();
        Handle t = bottomUp(d);
        check += itemCheck(t);
        heap.release(m);
        for (int s = 0; s < params.storesPerTree(); s++) {
          oldToYoung(longLived);
        }
      }
      long expected = (long) iterations * ((1L << (d + 1)) - 1);
      if (check != expected) {
        throw new IllegalStateException("trees of depth " + d + ": check " + check + ", expected " + expected);
      }
      progress.accept(String.format("%d trees of depth %d, check %d", iterations, d, check));
    }
    long nodes = itemCheck(longLived);
    if (nodes != (1L << (params.maxDepth() + 1)) - 1) {
      throw new IllegalStateException("the long-lived tree has " + nodes + " nodes");
    }
    progress.accept(String.format("long-lived tree of depth %d, check %d", params.maxDepth(), nodes));
    if (heap.verifying()) {
      heap.verify(); // once more at the end, whether or not anything was collected
    }
    heap.release(base);
  }

  private Handle bottomUp(int depth) {
    int m = heap.mark();
    Handle node;
    if (depth == 0) {
      node = heap.allocate(NODE, 3, 1);
    } else {
      Handle left = bottomUp(depth - 1);
      Handle right = bottomUp(depth - 1);
      node = heap.allocate(NODE, 3, 1);
      heap.setRef(node, LEFT, left);
      heap.setRef(node, RIGHT, right);
    }
    heap.setData(node, 0, depth);
    return heap.releaseKeeping(m, node);
  }

  /** The number of nodes under and including {@code node}, checking each node's item. */
  private long itemCheck(Handle node) {
    int m = heap.mark();
    long item = heap.data(node, 0);
    Handle left = heap.ref(node, LEFT);
    long n = 1;
    if (left != null) {
      Handle right = heap.ref(node, RIGHT);
      if (heap.data(left, 0) != item - 1 || right == null) {
        throw new IllegalStateException("a node of depth " + item + " has a broken child");
      }
      n += itemCheck(left) + itemCheck(right);
    }
    heap.release(m);
    return n;
  }

  private void oldToYoung(Handle longLived) {
    int m = heap.mark();
    Handle node = heap.copy(longLived);
    int steps = rnd.nextInt(params.maxDepth() + 1);
    for (int i = 0; i < steps; i++) {
      Handle next = heap.ref(node, rnd.nextBoolean() ? LEFT : RIGHT);
      if (next == null) {
        break;
      }
      node = next;
    }
    Handle old = heap.ref(node, EXTRA);
    int what = rnd.nextInt(10);
    if (old != null && what < 2) {
      checkPayloads(old); // re-read what an earlier store left
    } else if (old != null && what < 3 && heap.type(old) == PAYLOAD) {
      long v = rnd.nextLong();
      heap.setData(old, 0, v); // a data write to a (by now) old object
      heap.setData(old, 1, ~v);
    } else if (what < 4) {
      heap.setRef(node, EXTRA, null);
      stores++;
    } else if (what < 6) {
      heap.setRef(node, EXTRA, bottomUp(1 + rnd.nextInt(3)));
      stores++;
    } else {
      Handle head = null;
      for (int i = 1 + rnd.nextInt(3); i > 0; i--) {
        Handle p = heap.allocate(PAYLOAD, 1, 2);
        long v = rnd.nextLong();
        heap.setData(p, 0, v);
        heap.setData(p, 1, ~v);
        heap.setRef(p, 0, head);
        head = p;
      }
      heap.setRef(node, EXTRA, head);
      stores++;
    }
    heap.release(m);
  }

  private void checkPayloads(Handle h) {
    if (heap.type(h) == NODE) {
      itemCheck(h);
      return;
    }
    for (Handle p = h; p != null; p = heap.ref(p, 0)) {
      if (heap.data(p, 0) != ~heap.data(p, 1)) {
        throw new IllegalStateException("a payload's two words disagree");
      }
    }
  }
}
