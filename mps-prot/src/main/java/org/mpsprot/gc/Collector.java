package org.mpsprot.gc;

/**
 * What {@link Heap} needs from a collector. Implementations: {@link GenerationalCollector}
 * (write barriers) and {@link IncrementalCopyingCollector} (read barrier). Called by the one
 * mutator thread; an implementation may run work on threads of its own and then says how it
 * synchronises.
 */
interface Collector extends AutoCloseable {
  /** The barrier's name for tables ("fault", "uffd", "cards", "read-barrier", ...). */
  String name();

  /** How the mutator reads and writes the heap under this collector. */
  MutatorMemory memory();

  /**
   * Allocates an object of {@code words} words with the given header fields, its header
   * written and its other words zeroed; may collect first, updating {@code roots}.
   */
  long allocate(int type, int refs, int words, Roots roots);

  /** The mutator's store path, called after it stored a reference into {@code slot}. */
  void afterReferenceStore(long slot);

  /** Collects now: a minor (or, with full, a major) collection, or a flip. */
  void collect(Roots roots, boolean full);

  /**
   * A counter that grows each time the heap reached a state worth verifying (after every
   * collection, and for the read barrier also at each flip).
   */
  long epoch();

  /** Runs {@code body} with the collector's own threads held off. */
  <T> T inspect(java.util.function.Function<HeapInspector, T> body);

  /** Counters since the collector was made. */
  CollectorStats stats();

  @Override
  void close();
}
