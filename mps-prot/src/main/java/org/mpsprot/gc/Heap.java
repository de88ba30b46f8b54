package org.mpsprot.gc;

import java.util.Arrays;
import java.util.Objects;
import org.mpsprot.barrier.WriteBarrierStrategy;

/**
 * The mutator's API to a heap inside module regions (docs/barriers.md .heap): allocate objects
 * of the {@link ObjectLayout} model and read and write their fields through {@link Handle}s,
 * which the collector updates when it moves objects.
 *
 * <p><b>Handles.</b> Every method that yields an object pushes a new handle on the heap's handle
 * stack; {@link #mark()} and {@link #release(int)} pop them in scopes, and
 * {@link #releaseKeeping(int, Handle)} pops a scope but keeps one handle (JNI's PopLocalFrame).
 * Only objects reachable from live handles survive a collection.
 *
 * <p><b>Verification.</b> With {@link HeapConfig#verify()}, the API keeps a shadow model of every
 * object in plain Java, checks each data word it reads against it, and after every collection
 * (for the read barrier also after every flip) compares the whole live graph with it
 * ({@link #verify()}); a difference throws {@link HeapVerificationException}. Every access also
 * checks the object's header, so a stale reference into evacuated (poisoned) memory is caught at
 * its first use.
 *
 * <p><b>Threads.</b> Confined to one mutator thread (the collectors are written for one
 * mutator). Field indexes are checked: {@code 0 <= i < refs} or {@code < data}.
 */
public final class Heap implements AutoCloseable {
  private final Collector collector;
  private final MutatorMemory memory;
  private final boolean verifying;
  private long[] roots = new long[256];
  private ShadowObject[] shadows = new ShadowObject[256];
  private Handle[] handles = new Handle[256];
  private int top;
  private long verifiedEpoch;
  private long verifications;
  private long objectsVerified;
  private long verifyNanos;
  private final Roots rootView = new Roots() {
    @Override
    public int count() {
      return top;
    }

    @Override
    public long get(int i) {
      return roots[i];
    }

    @Override
    public void set(int i, long address) {
      roots[i] = address;
    }
  };

  private Heap(Collector collector, boolean verifying) {
    this.collector = collector;
    this.memory = collector.memory();
    this.verifying = verifying;
  }

  /**
   * A generational heap whose remembered set comes from {@code strategy}.
   *
   * @throws org.mpsprot.barrier.StrategyUnavailableException if the strategy does not work here
   */
  public static Heap generational(WriteBarrierStrategy strategy, HeapConfig config) {
    return new Heap(new GenerationalCollector(strategy, config.nurseryBytes(), config.oldBytes()), config.verify());
  }

  /** A heap collected by incremental copying behind a read barrier (Appel, Ellis and Li). */
  public static Heap readBarrier(HeapConfig config) {
    return readBarrier(config, true);
  }

  /** As {@link #readBarrier(HeapConfig)}; without the background thread every page is scanned by a fault or a flip. */
  static Heap readBarrier(HeapConfig config, boolean background) {
    return new Heap(new IncrementalCopyingCollector(config.semispaceBytes(), background, true), config.verify());
  }

  /** A read-barrier heap whose fault handler opens pages without scanning them (for tests). */
  static Heap brokenReadBarrier(HeapConfig config) {
    return new Heap(new IncrementalCopyingCollector(config.semispaceBytes(), false, false), config.verify());
  }

  /** The address a handle holds now (for tests). */
  long addressOf(Handle h) {
    return roots[slot(h)];
  }

  /** The collector (for tests). */
  Collector collector() {
    return collector;
  }

  /** Whether the heap keeps the shadow model and verifies (HeapConfig.verify). */
  public boolean verifying() {
    return verifying;
  }

  /** The barrier's name: a write-barrier strategy's, or "read-barrier". */
  public String barrier() {
    return collector.name();
  }

  // ---- Handles ------------------------------------------------------------------

  private Handle push(long address, ShadowObject shadow) {
    if (top == roots.length) {
      int n = roots.length * 2;
      roots = Arrays.copyOf(roots, n);
      shadows = Arrays.copyOf(shadows, n);
      handles = Arrays.copyOf(handles, n);
    }
    Handle h = new Handle(this, top);
    roots[top] = address;
    shadows[top] = shadow;
    handles[top] = h;
    top++;
    return h;
  }

  private int slot(Handle h) {
    Objects.requireNonNull(h, "handle");
    if (h.heap != this) {
      throw new IllegalArgumentException(h + " belongs to another heap");
    }
    if (h.slot < 0) {
      throw new IllegalStateException("the handle was released: its object may have been collected");
    }
    return h.slot;
  }

  /** The handle stack's height: pass it to {@link #release(int)} to end a scope. */
  public int mark() {
    return top;
  }

  /** Pops every handle above {@code mark}; they may not be used again. */
  public void release(int mark) {
    if (mark < 0 || mark > top) {
      throw new IllegalArgumentException("mark " + mark + " is not on the handle stack (height " + top + ")");
    }
    for (int i = mark; i < top; i++) {
      handles[i].slot = -1;
      handles[i] = null;
      roots[i] = 0;
      shadows[i] = null;
    }
    top = mark;
  }

  /** Pops every handle above {@code mark} and pushes {@code keep} again (null stays null). */
  public Handle releaseKeeping(int mark, Handle keep) {
    if (keep == null) {
      release(mark);
      return null;
    }
    int s = slot(keep);
    long address = roots[s];
    ShadowObject shadow = shadows[s];
    release(mark);
    return push(address, shadow);
  }

  /** A new handle to the same object as {@code h}. */
  public Handle copy(Handle h) {
    int s = slot(h);
    return push(roots[s], shadows[s]);
  }

  // ---- Objects --------------------------------------------------------------------

  /**
   * Allocates an object with {@code refs} null references and {@code data} zero data words; may
   * collect first.
   *
   * @param type 1 .. {@link ObjectLayout#MAX_TYPE} (0 is the collector's filler)
   */
  public Handle allocate(int type, int refs, int data) {
    if (type < 1 || type > ObjectLayout.MAX_TYPE || refs < 0 || refs > ObjectLayout.MAX_REFS || data < 0) {
      throw new IllegalArgumentException("allocate(type " + type + ", refs " + refs + ", data " + data
          + "): allowed type 1.." + ObjectLayout.MAX_TYPE + ", refs 0.." + ObjectLayout.MAX_REFS + ", data >= 0");
    }
    int words = ObjectLayout.sizeWords(refs, data);
    long address = collector.allocate(type, refs, words, rootView);
    Handle h = push(address, verifying ? new ShadowObject(type, refs, data) : null);
    verifyIfDue();
    return h;
  }

  /** The header of {@code address}, checked: a stale reference fails here. */
  private long header(long address) {
    long header = memory.load(address);
    if (!ObjectLayout.isObject(header)) {
      throw new HeapVerificationException(String.format(
          "the mutator's reference 0x%x finds %s: a stale reference (the object moved and this reference was"
              + " not updated)", address, ObjectLayout.describe(header)));
    }
    return header;
  }

  public int type(Handle h) {
    return ObjectLayout.type(header(roots[slot(h)]));
  }

  public int refCount(Handle h) {
    return ObjectLayout.refs(header(roots[slot(h)]));
  }

  public int dataCount(Handle h) {
    long header = header(roots[slot(h)]);
    return ObjectLayout.sizeWords(header) - 1 - ObjectLayout.refs(header);
  }

  private static void checkIndex(String what, int i, int n) {
    if (i < 0 || i >= n) {
      throw new IndexOutOfBoundsException(what + " " + i + " of an object with " + n + ": allowed 0.." + (n - 1));
    }
  }

  /** Reference {@code i} of the object, as a new handle, or null. */
  public Handle ref(Handle h, int i) {
    int s = slot(h);
    long a = roots[s];
    checkIndex("reference", i, ObjectLayout.refs(header(a)));
    long v = memory.load(ObjectLayout.refSlot(a, i));
    if (v == 0) {
      if (verifying && shadows[s].refs[i] != null) {
        throw new HeapVerificationException(String.format("reference %d of 0x%x reads null; the model has an object", i, a));
      }
      return null;
    }
    return push(v, verifying ? shadows[s].refs[i] : null);
  }

  /** Whether reference {@code i} of the object is null. */
  public boolean isNull(Handle h, int i) {
    int s = slot(h);
    long a = roots[s];
    checkIndex("reference", i, ObjectLayout.refs(header(a)));
    return memory.load(ObjectLayout.refSlot(a, i)) == 0;
  }

  /** Stores {@code value} (or null) into reference {@code i} of the object. */
  public void setRef(Handle h, int i, Handle value) {
    int s = slot(h);
    long a = roots[s];
    checkIndex("reference", i, ObjectLayout.refs(header(a)));
    long v = value == null ? 0 : roots[slot(value)];
    long at = ObjectLayout.refSlot(a, i);
    memory.store(at, v);
    collector.afterReferenceStore(at);
    if (verifying) {
      shadows[s].refs[i] = value == null ? null : shadows[value.slot];
    }
  }

  /** Data word {@code i} of the object (checked against the model when verifying). */
  public long data(Handle h, int i) {
    int s = slot(h);
    long a = roots[s];
    long header = header(a);
    int refs = ObjectLayout.refs(header);
    checkIndex("data word", i, ObjectLayout.sizeWords(header) - 1 - refs);
    long v = memory.load(ObjectLayout.dataSlot(a, refs, i));
    if (verifying && v != shadows[s].data[i]) {
      throw new HeapVerificationException(String.format("data word %d of 0x%x reads 0x%x; the model has 0x%x",
          i, a, v, shadows[s].data[i]));
    }
    return v;
  }

  public void setData(Handle h, int i, long value) {
    int s = slot(h);
    long a = roots[s];
    long header = header(a);
    int refs = ObjectLayout.refs(header);
    checkIndex("data word", i, ObjectLayout.sizeWords(header) - 1 - refs);
    memory.store(ObjectLayout.dataSlot(a, refs, i), value);
    if (verifying) {
      shadows[s].data[i] = value;
    }
  }

  /** Whether two handles refer to the same object. */
  public boolean same(Handle a, Handle b) {
    return roots[slot(a)] == roots[slot(b)];
  }

  // ---- Collection and verification -------------------------------------------------

  /** Collects now (full: a major collection; for the read barrier, finishes the cycle and flips). */
  public void collect(boolean full) {
    collector.collect(rootView, full);
    verifyIfDue();
  }

  private void verifyIfDue() {
    if (verifying && collector.epoch() != verifiedEpoch) {
      verifiedEpoch = collector.epoch();
      verify();
    }
  }

  /**
   * Compares the live graph with the shadow model now.
   *
   * @throws IllegalStateException if the heap keeps no model
   * @throws HeapVerificationException at the first difference
   */
  public void verify() {
    if (!verifying) {
      throw new IllegalStateException("this heap was made without verification (HeapConfig.verify)");
    }
    long t0 = System.nanoTime();
    long n = collector.inspect(inspector -> Verifier.verify(top, roots, shadows, inspector));
    verifyNanos += System.nanoTime() - t0;
    verifications++;
    objectsVerified += n;
  }

  /** The collector's counters and the verification's. */
  public HeapStats stats() {
    return new HeapStats(collector.name(), collector.stats(), verifications, objectsVerified, verifyNanos);
  }

  /** Closes the collector and its regions; the handles become useless. */
  @Override
  public void close() {
    release(0);
    collector.close();
  }
}
