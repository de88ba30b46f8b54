package org.mpsprot.os.windows;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.mpsprot.ProtOsException;
import org.mpsprot.os.ShimProtOs;

/**
 * The Windows implementation of the OS seam (.seam.os; docs/design/os.md .os.windows.java): the
 * shim's prot_windows.c (a pagefile-backed section mapped twice, VirtualProtect), its vectored
 * exception handler and its write watch, all in {@code win32-x86-64/mpsprot.dll}. The calls every
 * OS shares are {@link ShimProtOs}'s; this class adds what is Windows' own:
 *
 * <ul>
 *   <li>{@link #mappings()} from VirtualQuery (the shim's {@code mpsprot_query}), not
 *       /proc/self/maps. Windows has no cheap list of every mapping, and ProtSync compares only
 *       the module's own regions, so the list holds exactly the committed runs of both views of
 *       every region live in this class loader (created and not yet destroyed through any
 *       {@code WindowsProtOs}); everything else in the process is left out.
 *   <li>errno names from the C runtime's numbering ({@link WinErrno}) and, in every failure
 *       message, the raw {@code GetLastError} code of the calling thread's last failed call in
 *       the shim ({@code mpsprot_win_last_error}). There is no map count to advise on.
 *   <li>{@link #probeBackends()}: protection faults through the vectored handler and write watch
 *       (GetWriteWatch on memory of its own, probed by allocating one page); userfaultfd and
 *       soft-dirty are Linux only.
 *   <li>{@link #kernel()}: "Windows " and the JVM's {@code os.version}.
 * </ul>
 *
 * <p>NOT VERIFIED ON WINDOWS: no Windows JVM runs on the project's machines. The C half
 * (mpsprot.dll, including {@code mpsprot_query}) is tested under Wine; this class is compiled and
 * its OS-independent parts are unit-tested on Linux only. Thread-safe.
 */
public final class WindowsProtOs extends ShimProtOs {
  /** The regions live in this class loader, by slot: the shim's table has no enumeration. */
  private static final Map<Integer, NativeRegion> LIVE = new ConcurrentHashMap<>();

  /** mpsprot_query's permission bits (mpsprot.h MPSPROT_QUERY_*). */
  static final int QUERY_READ = 1;
  static final int QUERY_WRITE = 2;
  static final int QUERY_EXEC = 4;

  private WindowsProtOs() {
    super("mpsprot.dll");
  }

  /** Loads the shim; throws {@link UnsatisfiedLinkError} naming what is missing. */
  public static WindowsProtOs load() {
    return new WindowsProtOs();
  }

  @Override
  public String protectCall() {
    return "VirtualProtect";
  }

  @Override
  public String protectionSource() {
    return "VirtualQuery";
  }

  @Override
  protected String createStage(int stage) {
    return switch (stage) {
      case 1 -> "CreateFileMapping of the pagefile-backed section";
      case 2 -> "sizing the section";
      case 3 -> "MapViewOfFile of the mutator's view";
      case 4 -> "MapViewOfFile of the alias view";
      case 7, 8 -> "reserving the region's address space (not a Windows stage)";
      default -> "VirtualAlloc of the protection record";
    };
  }

  @Override
  public NativeRegion createRegion(long size) {
    NativeRegion r = super.createRegion(size);
    LIVE.put(r.slot(), r);
    return r;
  }

  @Override
  public void destroyRegion(int slot) {
    LIVE.remove(slot); // the shim unregisters the slot first, then unmaps, even when it fails
    super.destroyRegion(slot);
  }

  /**
   * The committed runs of the mutator's and the alias view of every live region, with their
   * real protection, sorted by address; a page that is not committed (released or decommitted
   * by someone else) is absent, which ProtSync reports as unmapped. Nothing outside the
   * module's regions is listed (see the class comment).
   */
  @Override
  public List<Mapping> mappings() {
    List<Mapping> out = new ArrayList<>();
    Query query = (address, q) -> WinShim.mpsprot_query(address, q);
    for (NativeRegion r : LIVE.values()) {
      for (long start : new long[] {r.base(), r.alias()}) {
        int err = walk(query, start, start + r.size(), out);
        if (err != 0) {
          throw failure(String.format("ProtSync: VirtualQuery of [0x%x, 0x%x)", start, start + r.size()),
              err, 0, 0);
        }
      }
    }
    out.sort(Comparator.comparing(Mapping::start, Long::compareUnsigned));
    return out;
  }

  /** One VirtualQuery: fills q as mpsprot_query does and returns 0 or an errno. */
  @FunctionalInterface
  interface Query {
    int at(long address, long[] q);
  }

  /**
   * Appends the committed runs of {@code [start, limit)} to {@code out}, clipped to that range,
   * walking forward run by run; returns 0, or the first errno of {@code query}.
   */
  static int walk(Query query, long start, long limit, List<Mapping> out) {
    long[] q = new long[4];
    long at = start;
    while (Long.compareUnsigned(at, limit) < 0) {
      int err = query.at(at, q);
      if (err != 0) {
        return err;
      }
      long runEnd = q[0] + q[1];
      if (Long.compareUnsigned(runEnd, at) <= 0) {
        return WinErrno.EIO; // an answer that does not move forward: never loop on it
      }
      long end = Long.compareUnsigned(runEnd, limit) < 0 ? runEnd : limit;
      if (q[2] != 0) {
        int bits = (int) q[3];
        out.add(new Mapping(at, end, (bits & QUERY_READ) != 0, (bits & QUERY_WRITE) != 0,
            (bits & QUERY_EXEC) != 0));
      }
      at = end;
    }
    return 0;
  }

  /**
   * The exception for a failed shim call. The message names the errno (C runtime numbering),
   * the raw Windows error code of the calling thread's last failed call in the shim, and what to
   * do; so call it on the thread whose call failed, before that thread calls the shim again.
   */
  @Override
  public ProtOsException failure(String request, int errno, long base, long limit) {
    long raw = Integer.toUnsignedLong(WinShim.mpsprot_win_last_error());
    boolean gone = (errno == WinErrno.EINVAL || errno == WinErrno.ENOMEM) && base != limit
        && !whollyCommitted(base, limit);
    return new ProtOsException(message(request, errno, raw, gone), errno, WinErrno.name(errno));
  }

  /** The failure message: request, errno name, Windows error code (0: none kept), advice. */
  static String message(String request, int errno, long windowsError, boolean rangeGone) {
    String name = WinErrno.name(errno);
    String code = windowsError == 0 ? "" : " (Windows error " + windowsError + ")";
    return request + " failed: " + name + code + ". What to do: " + advice(errno, rangeGone);
  }

  /** What to do about errno; rangeGone: part of the memory worked on is no longer committed. */
  static String advice(int errno, boolean rangeGone) {
    if (rangeGone) {
      return "part of the range is no longer mapped; something outside the module unmapped or"
          + " decommitted the region's memory (UnmapViewOfFile, VirtualFree). Find that code; the"
          + " module re-applied what it could and cannot restore unmapped pages (ProtSync reports"
          + " them)";
    }
    return switch (errno) {
      case WinErrno.ENOMEM -> "the commit limit or the address space is exhausted (a region is"
          + " charged to the commit limit in full when it is created); ask for less, close regions,"
          + " or enlarge the paging file";
      case WinErrno.EINVAL -> "the size is beyond what Windows will map, or the memory is not"
          + " the module's; ask for less";
      case WinErrno.EACCES -> "Windows forbids this protection on this memory; another component"
          + " (a security product, a debugger) may have changed it";
      case WinErrno.EFAULT -> "Windows could not read or write an argument; report it with the"
          + " Windows error code";
      case WinErrno.ENFILE, WinErrno.EMFILE -> "too many live allocations (1024 regions or 256"
          + " write-watch allocations); close some";
      case WinErrno.EBUSY -> "regions are still live; close them first";
      case WinErrno.ENOSYS -> "this Windows lacks a call the shim needs (Windows 8 or later is"
          + " required)";
      case WinErrno.EIO -> "Windows reported an error the shim has no errno for; look the Windows"
          + " error code up (`net helpmsg <code>`)";
      default -> "see the Windows documentation of the call named above and the Windows error"
          + " code";
    };
  }

  private static boolean whollyCommitted(long base, long limit) {
    List<Mapping> found = new ArrayList<>();
    if (walk((address, q) -> WinShim.mpsprot_query(address, q), base, limit, found) != 0) {
      return false;
    }
    long at = base;
    for (Mapping m : found) {
      if (m.start() != at) {
        return false;
      }
      at = m.end();
    }
    return at == limit;
  }

  @Override
  public List<Backend> probeBackends() {
    long[] base = new long[1];
    int ww = WinShim.mpsprot_ww_alloc(pageSize(), base);
    if (ww == 0) {
      WinShim.mpsprot_ww_free(base[0]);
    }
    String wwDetail = ww == 0
        ? "GetWriteWatch works (one page allocated with MEM_WRITE_WATCH); it tracks memory of its"
            + " own (mpsprot_ww_*), not the regions' section views"
        : "probe failed: " + message("VirtualAlloc(MEM_WRITE_WATCH)", ww,
            Integer.toUnsignedLong(WinShim.mpsprot_win_last_error()), false);
    return List.of(
        new Backend("protection faults (vectored handler)", true,
            handlerInstalled() ? "handler installed" : "handler not installed"),
        new Backend("write watch (GetWriteWatch)", ww == 0, wwDetail),
        new Backend("userfaultfd write-protect", false, "Linux only"),
        new Backend("soft-dirty", false, "Linux only"));
  }

  @Override
  public String kernel() {
    return "Windows " + System.getProperty("os.version", "(unknown version)");
  }
}
