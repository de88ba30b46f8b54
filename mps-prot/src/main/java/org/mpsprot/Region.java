package org.mpsprot;

import java.nio.ByteBuffer;

/**
 * Memory the module owns: one block of shared memory mapped twice (.sol.alias).
 *
 * <ul>
 *   <li>The <em>mutator's view</em> {@code [base(), limit())}: its protection is what
 *       {@link Prot#set} changes; a mutator that accesses a forbidden page faults.
 *   <li>The <em>alias view</em> {@code [aliasBase(), aliasBase() + size())}: the same bytes,
 *       always read-write, for the collector (Appel and Li's MAP2). A write through the alias
 *       is seen by the mutator's view once its protection allows the read.
 * </ul>
 *
 * <p>Offsets are region-relative byte offsets, {@code 0 <= offset < size()}. All methods
 * throw {@link RegionClosedException} after {@link #close()}. Thread-safety: as {@link Prot}.
 */
public interface Region extends AutoCloseable {
  /** The first address of the mutator's view; a multiple of the granularity. */
  long base();

  /** One past the last address of the mutator's view. */
  long limit();

  /** The size in bytes, a multiple of the granularity. */
  long size();

  /** The number of pages. */
  long pages();

  /** The first address of the collector's alias view. */
  long aliasBase();

  /**
   * ProtSet on {@code [base() + offset, base() + offset + length)}.
   *
   * @throws ProtRangeException if offset or length is unaligned or outside the region
   */
  void protect(long offset, long length, AccessSet mode);

  /** ProtSet on the whole region. */
  void protectAll(AccessSet mode);

  /** The mode recorded for the page holding {@code offset}. */
  AccessSet mode(long offset);

  /**
   * A direct buffer over the alias view, for reading and writing the region's bytes whatever
   * the mutator's protection, in the platform's native byte order. Regions larger than {@link Integer#MAX_VALUE} bytes refuse.
   * The buffer must not be used after {@link #close()}: the memory is then unmapped and a
   * stale access crashes the process.
   */
  ByteBuffer alias();

  /** A direct buffer over the mutator's view; accesses obey its protection. */
  ByteBuffer mutatorView();

  /** Whether {@link #close()} was called. */
  boolean isClosed();

  /**
   * Unregisters the region from the module first (no fault is attributed to it any more),
   * then unmaps both views. Idempotent.
   */
  @Override
  void close();
}
