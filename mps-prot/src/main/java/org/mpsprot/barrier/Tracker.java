package org.mpsprot.barrier;

import java.util.BitSet;
import org.mpsprot.Region;

/**
 * The dirty tracking of one region by one {@link WriteBarrierStrategy} (docs/barriers.md
 * .tracker).
 *
 * <p><b>Granules.</b> The region is divided into granules of {@link #granule()} bytes (the page
 * size for the hardware strategies, the card size for card marking); granule {@code i} covers
 * the mutator-view addresses {@code [region().base() + i * granule(), ... + granule())}.
 *
 * <p><b>Harvest contract (.tracker.harvest).</b> {@link #harvest()} reports every granule that
 * was written since the previous harvest (or since {@link WriteBarrierStrategy#attach}) and
 * re-arms it, atomically with respect to concurrent writers: a write that the returned set does
 * not cover is reported by the next harvest. No write is ever missed; a granule may be reported
 * although no byte changed (a false positive: the hardware strategies see a write of the same
 * value, or a write to another word of the page). Soft-dirty cannot re-arm atomically: there
 * the harvest must run while the mutators are stopped (see {@link SoftDirtyStrategy}).
 *
 * <p><b>Kernel writes (.tracker.syscall).</b> A system call that writes into the region (say
 * {@code read(2)} into a buffer there) behaves per strategy: with protection faults it fails
 * with EFAULT, with userfaultfd the page is reported dirty, with card marking the write is
 * invisible. {@link #prepareForSyscall} makes such a buffer safe under every strategy.
 *
 * <p><b>Pinned buffers (.tracker.pinned).</b> A buffer the kernel keeps a long-term reference to
 * (an io_uring registered buffer, {@code IORING_REGISTER_BUFFERS}; RDMA memory registration) is
 * written by the kernel through its own reference, at any time, with no page fault and no
 * userfaultfd write-protect check: no strategy sees that write, and a syscall window cannot be
 * held open for the life of the registration (it holds harvests off). {@link #pinForKernel}
 * is the way to make such a buffer safe: while the pin is open every harvest reports the
 * buffer's granules, so they are never trusted clean.
 *
 * <p>Thread-safety: {@link #onStore} may be called by any number of mutator threads
 * concurrently with each other and with one harvesting thread; {@link #harvest()} calls are
 * serialised by the tracker. Memory ordering: every store that happened before its
 * {@code onStore} call (card marking), or before the hardware recorded the write, is visible to
 * the thread that receives the granule from {@code harvest()} and reads the region's alias view.
 */
public interface Tracker extends AutoCloseable {
  /** The region tracked. */
  Region region();

  /** The strategy's name. */
  String strategy();

  /** Bytes per granule: a power of two that divides the page size or equals it. */
  long granule();

  /** The number of granules, {@code region().size() / granule()}. */
  default long granules() {
    return region().size() / granule();
  }

  /**
   * The granules written since the last harvest (indexes from 0), each re-armed so that the
   * next write to it is seen again. See the class comment for the atomicity contract.
   *
   * @throws IllegalStateException after {@link #close()}
   */
  BitSet harvest();

  /**
   * The mutator's store path: called after a store to {@code address} in the mutator's view
   * (addresses outside the region are ignored). Only card marking does work here (it marks the
   * card with release order); for the hardware strategies it is empty, because the hardware
   * sees the store itself.
   */
  void onStore(long address);

  /**
   * The number of barrier hits so far: for the hardware strategies, the write-protected
   * granules the mutator wrote to (each one trap or kernel fault), counted when harvested; for
   * card marking, the calls of {@link #onStore} for addresses in the region (counted without
   * synchronisation, so approximate while several threads store at once).
   */
  long hits();

  /**
   * Prepares {@code [address, address + length)} of the mutator's view for a write by the
   * kernel (a system call's buffer): the pages are opened and recorded dirty, and no harvest
   * runs until the returned window is closed, so the write is neither refused with EFAULT nor
   * missed. Close the window after the system call returned; the granules are reported by the
   * next harvest. Windows may overlap and nest; a harvest waits for all of them.
   *
   * <p>A window covers the system calls made while it is open. A buffer the kernel keeps and
   * writes later through its own pinned reference (an io_uring registered buffer filled by
   * {@code READ_FIXED}) is not covered, under any strategy: declare it with
   * {@link #pinForKernel} (and make its registration inside a window).
   *
   * @throws IllegalArgumentException if the range is empty or not inside the region
   */
  SyscallWindow prepareForSyscall(long address, long length);

  /**
   * Declares {@code [address, address + length)} of the mutator's view a buffer the kernel may
   * write at any time without the tracker seeing it (.tracker.pinned): an io_uring registered
   * buffer, any long-term pinned memory. From this call until the pin is closed, every
   * {@link #harvest()} reports the buffer's granules as written, whether or not anything was
   * written; the first harvest after the close reports them once more (the kernel's last writes
   * before the unregistration), and from then on the granules are tracked as usual. Harvests
   * are not held off. Pins may overlap.
   *
   * <p>Order of use: pin before the kernel takes its reference, close after it dropped it
   * (after {@code IORING_UNREGISTER_BUFFERS}, or after the ring is closed). The registration is
   * itself a system call that needs write access to the pages (the kernel pins them for
   * writing): under protection faults make it inside a {@link #prepareForSyscall} window.
   *
   * @throws IllegalArgumentException if the range is empty or not inside the region
   * @throws IllegalStateException after {@link #close()}
   */
  KernelPin pinForKernel(long address, long length);

  /** A buffer declared by {@link #pinForKernel}: reported by every harvest until closed. */
  interface KernelPin extends AutoCloseable {
    /**
     * Ends the pin; the next harvest reports the buffer's granules once more. Idempotent. Call
     * it only after the kernel dropped its reference to the buffer.
     */
    @Override
    void close();
  }

  /** A buffer prepared by {@link #prepareForSyscall}: harvests wait until it is closed. */
  interface SyscallWindow extends AutoCloseable {
    /** Ends the window; idempotent. */
    @Override
    void close();
  }

  /**
   * Stops tracking: the region is left with full access for the mutator and its policy
   * restored to {@link org.mpsprot.BarrierPolicy#NONE} where the strategy set one. Idempotent.
   * Close the tracker before its region: a region closed first is left alone, and the
   * userfaultfd strategy then leaves its file descriptor open until the
   * shim's slot is reused.
   */
  @Override
  void close();
}
