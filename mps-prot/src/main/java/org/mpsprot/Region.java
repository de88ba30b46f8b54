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
 * <p>Offsets are region-relative byte offsets, {@code 0 <= offset < size()}.
 *
 * <p>After {@link #close()}: the geometry stays readable, as {@code MemorySegment.address()}
 * does: {@link #base()}, {@link #limit()}, {@link #size()}, {@link #pages()} and
 * {@link #aliasBase()} return what they returned before (the addresses no longer belong to the
 * module and may be reused by the OS), and {@link #isClosed()}, {@link #close()} (idempotent)
 * and {@code toString()} work. Every other method throws {@link RegionClosedException}:
 * {@link #protect}, {@link #protectAll}, {@link #mode}, {@link #alias()},
 * {@link #mutatorView()}, {@link #alias(long, int)}, {@link #mutatorView(long, int)},
 * {@link #setPolicy}, {@link #setHandoff}, {@link #policy()},
 * {@link #harvest}, {@link #harvestTouched}, {@link #dirtyPages()}, {@link #touchedPages()},
 * {@link #describe()} and {@link #drainLog()}
 * (a {@code null} argument is still refused with {@link NullPointerException} first).
 *
 * <p>A region dropped without {@link #close()} (docs/design/prot.md .sol.cleaner): once neither
 * this object nor any {@link java.nio.ByteBuffer} view it returned is reachable, a
 * {@link java.lang.ref.Cleaner} closes it, whatever its protection, policy or dirty state, and
 * prints a warning on stderr; its slot and mappings are then free again. This is a safety net
 * for leaks, not a way to free regions: the time is up to the garbage collector, and a region
 * stays reachable (so is never cleaned) while its {@link FaultHandler} or a tracker refers to
 * it. A raw address kept as a {@code long} does not keep it: do not use one after dropping the
 * region. A JDK 22+ {@code MemorySegment} view does not keep it either, but is safe: once the
 * region is closed an access through it throws {@link IllegalStateException}.
 *
 * <p>Thread-safety: as {@link Prot}.
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
   * the mutator's protection, in the platform's native byte order. Regions larger than
   * {@link Integer#MAX_VALUE} bytes refuse with {@link UnsupportedOperationException}: use the
   * windows {@link #alias(long, int)} there.
   * The buffer must not be used after {@link #close()}: the memory is then unmapped and a
   * stale access crashes the process. On JDK 22+ prefer {@code RegionSegments.aliasSegment}:
   * a {@code MemorySegment} of any size whose use after close throws
   * {@link IllegalStateException} (docs/design/prot.md .sol.segments).
   */
  ByteBuffer alias();

  /**
   * A direct buffer over the mutator's view; accesses obey its protection. The same limits as
   * {@link #alias()}; on JDK 22+ {@code RegionSegments.mutatorSegment} is the safe view.
   */
  ByteBuffer mutatorView();

  /**
   * A direct buffer over {@code [aliasBase() + offset, aliasBase() + offset + length)} of the
   * alias view, in the platform's native byte order: a window, for regions of any size (a
   * region over 2 GiB has no whole-region {@link ByteBuffer}). Position 0 of the buffer is
   * byte {@code offset} of the region; no alignment is needed. The same rules as
   * {@link #alias()}: not to be used after {@link #close()}.
   *
   * @throws ProtRangeException unless {@code 0 <= offset}, {@code 0 <= length} and
   *     {@code offset + length <= size()}
   */
  ByteBuffer alias(long offset, int length);

  /**
   * A window of the mutator's view, as {@link #alias(long, int)} is of the alias view; accesses
   * obey the mutator's protection.
   *
   * @throws ProtRangeException unless {@code 0 <= offset}, {@code 0 <= length} and
   *     {@code offset + length <= size()}
   */
  ByteBuffer mutatorView(long offset, int length);

  /**
   * Sets the region's barrier policy (docs/design/fault.md .policy). For
   * {@link BarrierPolicy#HANDOFF} use {@link #setHandoff}. A new region has
   * {@link BarrierPolicy#NONE}.
   */
  void setPolicy(BarrierPolicy policy);

  /**
   * Makes faults in the region {@link BarrierPolicy#HANDOFF} faults resolved by {@code handler}
   * on the module's barrier threads; faults that may not park take {@code fallback}.
   */
  void setHandoff(FaultHandler handler, HandoffFallback fallback);

  /**
   * The region's barrier policy.
   *
   * @throws RegionClosedException after {@link #close()}
   */
  BarrierPolicy policy();

  /**
   * Harvest (.sol.harvest): reports every page whose dirty bit is set (a write opened it since
   * the last harvest) and, atomically with respect to faulting threads, protects it again with
   * {@code modeAfter} and clears its bit. No write is ever missed: a write after the
   * re-protection faults and sets the bit again, and a harvest that fails part-way sets back
   * every bit it cleared, so the next harvest reports every page written.
   *
   * @return the pages reported, as page indexes
   * @throws ProtOsException if the OS refused a re-protection (the record equals the OS again,
   *     nothing is lost), or, with errno ENXIO and before any change, if some page of the region
   *     is no longer its memory ({@link Prot#sync()} found it replaced or unmapped)
   */
  java.util.BitSet harvest(AccessSet modeAfter);

  /**
   * Harvest of the touched bits (.sol.harvest.touched), the read barrier's counterpart of
   * {@link #harvest}: reports every page whose touched bit is set (a read fault opened it since
   * the last {@code harvestTouched}) and, atomically with respect to faulting threads, protects
   * it again with {@code modeAfter} and clears its touched bit, so that with a {@code modeAfter}
   * that forbids READ (usually {@link AccessSet#ALL}) the next read of the page faults and sets
   * the bit again: an {@link BarrierPolicy#UNPROTECT} read barrier can start a new cycle. The
   * dirty bits are left as they are (a page both read and written stays reported by the next
   * {@link #harvest}). No read is lost: a harvest that fails part-way sets back every touched
   * bit it cleared and reports nothing, so the next one reports every page read. Thread-safe,
   * serialised with the region's other protection changes.
   *
   * @param modeAfter the AccessSet the reported pages get
   * @return the pages reported, as page indexes
   * @throws NullPointerException if {@code modeAfter} is null
   * @throws RegionClosedException after {@link #close()}
   * @throws ProtOsException as {@link #harvest} (the OS refused a re-protection: nothing is
   *     lost; or ENXIO, before any change, if some page is no longer the region's memory)
   */
  java.util.BitSet harvestTouched(AccessSet modeAfter);

  /** The pages whose dirty bit is set now (a snapshot; nothing is cleared). */
  java.util.BitSet dirtyPages();

  /** The pages a read fault opened since their last {@link #harvestTouched} (a snapshot). */
  java.util.BitSet touchedPages();

  /**
   * A snapshot of every page's recorded protection, dirty bit and touched bit, with the policy
   * (.sol.describe in docs/design/fault.md), to look at: {@link RegionSnapshot#toText()},
   * {@link RegionSnapshot#toSvg()}. Costs one pass over the region's record and bitmaps, 64 pages
   * at a time where they are clean and of one mode (0.6 to 1.5 ns a page measured on a 1 TiB
   * region on a busy 2-core machine; a few ns a page where pages differ), and memory per run of
   * equal pages, not per page.
   *
   * <p>What it guarantees: it is taken under the module's lock, so no ProtSet, batch, harvest,
   * policy change or close (of any region) runs while it is taken: against those it is one
   * instant, and with no fault taken meanwhile it equals what {@link #mode}, {@link #policy()},
   * {@link #dirtyPages()} and {@link #touchedPages()} answer. Faults are resolved by the handler
   * without that lock and may go on meanwhile; a fault only opens its page and sets the page's
   * dirty or touched bit, so then each page shows its state before or after each concurrent
   * fault on it, and pages far apart may be read at different instants. Each page's protection is
   * read before its bits: a page shown opened by a fault is shown with that fault's bit (never
   * open and clean because of the race), while a page may show a bit with the protection it had
   * before the fault that set it (the fault came between the two reads).
   *
   * @throws RegionClosedException after {@link #close()}
   */
  RegionSnapshot describe();

  /** Removes and returns the accesses {@link BarrierPolicy#STEP} emulated, oldest first. */
  java.util.List<AccessLogEntry> drainLog();

  /** Whether {@link #close()} was called. */
  boolean isClosed();

  /**
   * Unregisters the region from the module first (no fault is attributed to it any more),
   * then unmaps both views. Idempotent.
   */
  @Override
  void close();
}
