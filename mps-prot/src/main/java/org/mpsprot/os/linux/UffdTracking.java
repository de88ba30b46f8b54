package org.mpsprot.os.linux;

import java.util.BitSet;
import org.mpsprot.ProtOsException;
import org.mpsprot.Region;
import org.mpsprot.os.ProtOs;

/**
 * Dirty-page tracking of a region's mutator view with userfaultfd write-protect in async mode
 * and the PAGEMAP_SCAN ioctl (Linux 6.7+): no signal is delivered; the kernel resolves the first
 * write to a write-protected page itself and marks the page written; a harvest is one ioctl
 * that reports the written pages and write-protects them again, atomically per page. Writes
 * through the alias view are not seen (tracking is per mapping).
 *
 * <p>A facade over the shim's {@code mpsprot_uffd_*} functions for {@code org.mpsprot.barrier}.
 * Thread-safety: as the shim's; the caller serialises attach, harvest and detach of one region.
 */
public final class UffdTracking {
  private UffdTracking() {}

  /** Null when the shim has the backend, else why not (linking failed). */
  private static final class Link {
    static final String ERROR = link();

    private static String link() {
      try {
        Class.forName(UffdShim.class.getName(), true, UffdShim.class.getClassLoader());
        return null;
      } catch (LinkageError | ClassNotFoundException e) {
        return "libmpsprot was built without the userfaultfd backend (mpsprot_uffd_attach,"
            + " mpsprot_uffd_harvest, mpsprot_uffd_detach from dirty_uffd_linux.c): " + e;
      }
    }
  }

  /**
   * Null when the kernel offers write-protect in async mode with PAGEMAP_SCAN and the shim has
   * the backend; otherwise the reason (the module's probe: missing privilege, kernel features).
   */
  public static String unavailableReason() {
    ProtOs.Backend b = probe();
    return b.available() ? null : b.detail();
  }

  /**
   * The userfaultfd backend, probed now: available when the kernel offers write-protect in async
   * mode with PAGEMAP_SCAN and the shim has the backend; otherwise the reason as its detail, and
   * whether that reason may pass ({@link ProtOs.Backend#transientFailure()}: out of file
   * descriptors while probing), so that a caller keeps only an answer that will not change.
   */
  public static ProtOs.Backend probe() {
    for (ProtOs.Backend b : ProtOs.current().probeBackends()) {
      if (b.name().startsWith("userfaultfd")) {
        if (b.available() && Link.ERROR != null) {
          return new ProtOs.Backend(b.name(), false, Link.ERROR);
        }
        return b;
      }
    }
    return new ProtOs.Backend("userfaultfd", false, "the OS layer has no userfaultfd backend");
  }

  /** What the probe found, for an available backend. */
  public static String detail() {
    for (ProtOs.Backend b : ProtOs.current().probeBackends()) {
      if (b.name().startsWith("userfaultfd")) {
        return b.detail();
      }
    }
    return "no probe";
  }

  /**
   * Registers the region's mutator view with a userfaultfd in write-protect async mode and
   * write-protects all of it; returns the region's slot, which {@link #harvest} and
   * {@link #detach} take. Detach before the region is closed (the shim's lifecycle rule: a
   * slot is reused once its region is destroyed).
   *
   * @throws ProtOsException naming the errno and what to do
   */
  public static int attach(Region region) {
    int slot = UffdShim.mpsprot_region_find(region.base());
    if (slot < 0) {
      throw new IllegalStateException("region " + region + " is not live in the shim (closed?)");
    }
    int err = UffdShim.mpsprot_uffd_attach(slot);
    if (err != 0) {
      throw failure(ProtOs.Operation.TRACKER_ATTACH, "userfaultfd attach (the userfaultfd syscall, ioctl UFFDIO_API and UFFDIO_REGISTER) of region " + region, err, region);
    }
    return slot;
  }

  /**
   * The pages of {@code [first, first + count)} written since the last harvest (bit
   * {@code p - first}), each write-protected again by the same ioctl.
   *
   * @throws ProtOsException naming the errno; the pages the shim reported before it failed are
   *     lost to this caller: use {@link #harvest(Region, int, long, long, BitSet)} to keep them
   */
  public static BitSet harvest(Region region, int slot, long first, long count) {
    BitSet dirty = new BitSet();
    harvest(region, slot, first, count, dirty);
    return dirty;
  }

  /**
   * As {@link #harvest(Region, int, long, long)}, but the pages go into {@code into} (or-ed in),
   * also when the harvest fails part-way: the shim then reports every page from where the walk
   * failed on (their re-protection state is unknown), and those bits are in {@code into} when
   * the exception is thrown, so the caller can keep them for its next report (nothing lost).
   */
  public static void harvest(Region region, int slot, long first, long count, BitSet into) {
    if (first < 0 || count <= 0 || first > region.pages() - count) {
      throw new IllegalArgumentException("harvest of pages [" + first + ", " + (first + count)
          + ") outside region " + region + " of " + region.pages() + " pages");
    }
    long[] out = new long[(int) ((count + 63) / 64)];
    long[] found = new long[1];
    if (region.isClosed()) {
      throw new org.mpsprot.RegionClosedException("userfaultfd harvest of region " + region + ": it was closed");
    }
    int err = UffdShim.mpsprot_uffd_harvest(slot, first, count, out, found);
    into.or(BitSet.valueOf(out));
    if (err != 0) {
      throw failure(ProtOs.Operation.TRACKER_HARVEST, "userfaultfd harvest (PAGEMAP_SCAN) of region "
          + region, err, region);
    }
  }

  /** Unregisters the region from its userfaultfd; the pages stay writable. */
  public static void detach(Region region, int slot) {
    int err = UffdShim.mpsprot_uffd_detach(slot);
    if (err != 0) {
      throw failure(ProtOs.Operation.TRACKER_DETACH, "userfaultfd detach (ioctl UFFDIO_UNREGISTER) of region " + region, err, region);
    }
  }

  private static ProtOsException failure(ProtOs.Operation op, String request, int errno, Region region) {
    return LinuxProtOs.load().failure(op, request, errno, region.base(), region.limit());
  }
}
