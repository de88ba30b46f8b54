package org.mpsprot.check;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.function.Supplier;

/** Toy systems under test, their models and state machines. */
final class Toys {
  private Toys() {}

  /** Runs {@code body} with system property {@code key} set (or cleared if null), restoring it afterwards. */
  static <T> T withProperty(String key, String value, Supplier<T> body) {
    String old = System.getProperty(key);
    try {
      if (value == null) System.clearProperty(key);
      else System.setProperty(key, value);
      return body.get();
    } finally {
      if (old == null) System.clearProperty(key);
      else System.setProperty(key, old);
    }
  }

  /** Base for systems that record how often they were closed. */
  abstract static class Closeable {
    int closeCount;
  }

  /** Records every system created by a machine, to check each is closed exactly once. */
  abstract static class Tracking<M, S extends Closeable> implements StateMachine<M, S> {
    final List<S> created = new ArrayList<>();

    abstract S create();

    @Override
    public final S newSystem() {
      S s = create();
      created.add(s);
      return s;
    }

    @Override
    public final void closeSystem(S system) {
      system.closeCount++;
    }
  }

  // ---------------------------------------------------------------- bounded stack (correct, optionally buggy)

  static final int CAPACITY = 5;

  /** A fixed-capacity int stack. With {@code buggy}, pop from a stack of exactly 3 returns the bottom element. */
  static final class BoundedStack extends Closeable {
    private final int[] items = new int[CAPACITY];
    private final boolean buggy;
    private int size;

    BoundedStack(boolean buggy) {
      this.buggy = buggy;
    }

    boolean push(int x) {
      if (size == CAPACITY) return false;
      items[size++] = x;
      return true;
    }

    int pop() {
      if (size == 0) throw new IllegalStateException("empty");
      int top = items[--size];
      return buggy && size == 2 ? items[0] : top;
    }

    int peek() {
      if (size == 0) throw new IllegalStateException("empty");
      return items[size - 1];
    }

    int size() {
      return size;
    }
  }

  record Push(int x) implements Action<ArrayDeque<Integer>, BoundedStack> {
    @Override
    public void run(ArrayDeque<Integer> model, BoundedStack stack) {
      boolean fits = model.size() < CAPACITY;
      if (fits) model.push(x);
      assertEquals(fits, stack.push(x), "push result");
    }
  }

  record Pop() implements Action<ArrayDeque<Integer>, BoundedStack> {
    @Override
    public boolean precondition(ArrayDeque<Integer> model) {
      return !model.isEmpty();
    }

    @Override
    public void run(ArrayDeque<Integer> model, BoundedStack stack) {
      assertEquals(model.pop(), stack.pop(), "popped value");
    }
  }

  record Peek() implements Action<ArrayDeque<Integer>, BoundedStack> {
    @Override
    public boolean precondition(ArrayDeque<Integer> model) {
      return !model.isEmpty();
    }

    @Override
    public void run(ArrayDeque<Integer> model, BoundedStack stack) {
      assertEquals(model.peek(), stack.peek(), "peeked value");
    }
  }

  static final class StackMachine extends Tracking<ArrayDeque<Integer>, BoundedStack> {
    private final boolean buggy;

    StackMachine(boolean buggy) {
      this.buggy = buggy;
    }

    @Override
    BoundedStack create() {
      return new BoundedStack(buggy);
    }

    @Override
    public ArrayDeque<Integer> newModel() {
      return new ArrayDeque<>();
    }

    @Override
    public Action<ArrayDeque<Integer>, BoundedStack> nextAction(ArrayDeque<Integer> model, Rand rand) {
      Gen<Action<ArrayDeque<Integer>, BoundedStack>> push = Gen.ints(0, 100).map(Push::new);
      if (model.isEmpty()) return push.next(rand);
      return Gen.frequency(4, push, 3, Gen.constant(new Pop()), 1, Gen.constant(new Peek())).next(rand);
    }

    @Override
    public void checkInvariant(ArrayDeque<Integer> model, BoundedStack stack) {
      assertEquals(model.size(), stack.size(), "size");
    }
  }

  // ---------------------------------------------------------------- buggy set

  /**
   * An int set with a bug: once 3 distinct elements have been inserted (in total), removing an
   * element that is absent also silently drops the smallest element.
   */
  static final class BuggySet extends Closeable {
    private final TreeSet<Integer> elements = new TreeSet<>();
    private int distinctInserts;

    boolean add(int x) {
      boolean added = elements.add(x);
      if (added) distinctInserts++;
      return added;
    }

    boolean remove(int x) {
      boolean removed = elements.remove(x);
      if (!removed && distinctInserts >= 3 && !elements.isEmpty()) elements.pollFirst();
      return removed;
    }

    boolean contains(int x) {
      return elements.contains(x);
    }

    int size() {
      return elements.size();
    }
  }

  record Add(int x) implements Action<TreeSet<Integer>, BuggySet> {
    @Override
    public void run(TreeSet<Integer> model, BuggySet set) {
      assertEquals(model.add(x), set.add(x), "add(" + x + ")");
    }
  }

  record Remove(int x) implements Action<TreeSet<Integer>, BuggySet> {
    @Override
    public void run(TreeSet<Integer> model, BuggySet set) {
      assertEquals(model.remove(x), set.remove(x), "remove(" + x + ")");
    }

    @Override
    public List<Action<TreeSet<Integer>, BuggySet>> shrinkCandidates() {
      return x == 0 ? List.of() : List.of(new Remove(0), new Remove(x - 1));
    }
  }

  record Contains(int x) implements Action<TreeSet<Integer>, BuggySet> {
    @Override
    public void run(TreeSet<Integer> model, BuggySet set) {
      assertEquals(model.contains(x), set.contains(x), "contains(" + x + ")");
    }
  }

  static final class SetMachine extends Tracking<TreeSet<Integer>, BuggySet> {
    @Override
    BuggySet create() {
      return new BuggySet();
    }

    @Override
    public TreeSet<Integer> newModel() {
      return new TreeSet<>();
    }

    @Override
    public Action<TreeSet<Integer>, BuggySet> nextAction(TreeSet<Integer> model, Rand rand) {
      return Gen.<Action<TreeSet<Integer>, BuggySet>>frequency()
          .add(3, Gen.ints(0, 8).map(Add::new))
          .add(2, Gen.ints(0, 8).map(Remove::new))
          .add(2, Gen.ints(0, 8).map(Contains::new))
          .build().next(rand);
    }

    @Override
    public void checkInvariant(TreeSet<Integer> model, BuggySet set) {
      assertEquals(model.size(), set.size(), "size after action");
    }
  }

  // ---------------------------------------------------------------- buffer (for shrinkCandidates)

  static final int LIMIT = 37;

  /** A byte buffer that throws on writes of {@link #LIMIT} bytes or more (the bug). */
  static final class Buffer extends Closeable {
    final byte[] data = new byte[4096];
    int length;

    void write(int n) {
      if (n >= LIMIT) throw new IllegalStateException("internal overflow writing " + n + " bytes");
      Arrays.fill(data, 0, n, (byte) 1);
      length = n;
    }
  }

  record Write(int n) implements Action<int[], Buffer> {
    @Override
    public void run(int[] model, Buffer buffer) {
      model[0] = n;
      buffer.write(n);
      assertEquals(model[0], buffer.length, "length");
    }

    @Override
    public List<Action<int[], Buffer>> shrinkCandidates() {
      return n == 0 ? List.of() : List.of(new Write(0), new Write(n / 2), new Write(n - 1));
    }
  }

  static final class BufferMachine extends Tracking<int[], Buffer> {
    @Override
    Buffer create() {
      return new Buffer();
    }

    @Override
    public int[] newModel() {
      return new int[1];
    }

    @Override
    public Action<int[], Buffer> nextAction(int[] model, Rand rand) {
      return new Write(rand.nextInt(0, 2000));
    }
  }
}
