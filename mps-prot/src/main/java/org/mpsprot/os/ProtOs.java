package org.mpsprot.os;

import java.util.List;
import org.mpsprot.ProtOsException;
import org.mpsprot.os.linux.LinuxProtOs;
import org.mpsprot.os.windows.WindowsProtOs;

/**
 * The OS seam (.seam.os): everything the generic module ({@link org.mpsprot.core.ProtModule})
 * needs from one operating system. One implementation per OS, chosen at run time by
 * {@link #current()}: {@link LinuxProtOs} for an os.name starting with "Linux",
 * {@link WindowsProtOs} (not verified on Windows: docs/design/os.md .os.windows.java) for one
 * starting with "Windows"; any other OS, macOS included, is refused with an
 * {@link UnsupportedOperationException}. Both extend {@link ShimProtOs}. macOS plugs in here.
 *
 * <p>Implementations are thread-safe; the generic module serialises protection changes.
 */
public interface ProtOs {

  /**
   * The implementation for the running OS and CPU, a new instance over the one loaded shim.
   *
   * @throws UnsupportedOperationException for an OS without one (macOS, anything else)
   * @throws UnsatisfiedLinkError when the shim for this platform is not on the class path
   */
  static ProtOs current() {
    String os = System.getProperty("os.name", "");
    if (os.startsWith("Linux")) {
      return LinuxProtOs.load();
    }
    if (os.startsWith("Windows")) {
      return WindowsProtOs.load();
    }
    throw new UnsupportedOperationException(
        "mps-prot has no protection module for os.name=" + os + ", os.arch="
            + System.getProperty("os.arch")
            + ": Linux and Windows are implemented; macOS plugs in behind org.mpsprot.os.ProtOs"
            + " (docs/design/os.md)");
  }

  /** JNA's resource prefix for this OS and CPU, such as {@code linux-x86-64}. */
  String platform();

  /** The OS call that changes a protection, named in error messages: "mprotect", "VirtualProtect". */
  String protectCall();

  /** Where the OS's real protection is read, named in error messages: "/proc/self/maps", "VirtualQuery". */
  String protectionSource();

  /** The page size, asked of the OS. */
  long pageSize();

  /** The native half of ProtSetup; idempotent. */
  void setup();

  boolean handlerInstalled();

  /** A region made by the shim: its slot, the mutator's view and the alias view. */
  record NativeRegion(int slot, long base, long alias, long size) {}

  /** Maps {@code size} bytes twice; size is a positive multiple of the page size. */
  NativeRegion createRegion(long size);

  /** Unregisters, then unmaps. */
  void destroyRegion(int slot);

  /** The number of regions live in the shim now (all of the process's, whoever made them). */
  int regionCount();

  /**
   * One protection change on the slot's mutator view; returns 0 or the errno. On failure the
   * shim has restored the pages' previous protection, and {@link #restoreState()} says whether
   * that worked. Allocates nothing.
   */
  int protect(int slot, long offset, long length, int modeBits);

  /**
   * After {@link #protect} failed on the calling thread: {@link #RESTORED}, {@link #ADOPTED} or
   * {@link #WIDENED}, until the thread's next protect.
   */
  int restoreState();

  /** Address of the slot's record: one byte of AccessSet bits per page. */
  long recordAddress(int slot);

  /** A direct buffer over native memory {@code [address, address + size)}. */
  java.nio.ByteBuffer buffer(long address, long size);

  /** {@link #restoreState()}: the restore worked (mpsprot.h MPSPROT_RESTORED). */
  int RESTORED = 0;

  /** The restore failed; the shim made the record the OS's real protection (MPSPROT_ADOPTED). */
  int ADOPTED = 1;

  /**
   * The restore failed and the OS's protection could not be read: the record is the least
   * restrictive of the old and the asked mode, re-applied as far as the OS allowed
   * (MPSPROT_WIDENED; design/prot.md .sol.restore).
   */
  int WIDENED = 2;

  /** Words per run in {@link #syncRegion}'s out[]. */
  int SYNC_RUN_WORDS = 7;

  /**
   * ProtSync of one region in the shim (mpsprot.h {@code mpsprot_region_sync}; design/prot.md
   * .if.sync): compares both views with the record from page {@code from} on (pages
   * {@code 0..pages-1} the mutator's view, {@code pages..2*pages-1} the alias view), confirms
   * each difference while holding its pages, repairs it if {@code repair}, and writes at most
   * {@code max} runs of {@link #SYNC_RUN_WORDS} words to out: base, limit, view (0 mutator, 1
   * alias), kind (0 different, 1 unmapped, 2 replaced), recorded AccessSet bits, the OS's
   * permission bits (1 read, 2 write, 4 exec; -1 unmapped), repaired (1 or 0). result[0] =
   * runs written, result[1] = the page to go on from (2*pages: done). Returns 0, EINVAL when
   * the slot no longer holds the region at {@code base}, or the errno of reading the OS's
   * state. Takes no Java lock; the shim pins the region for the call.
   */
  int syncRegion(int slot, long base, boolean repair, long from, long[] out, int max, long[] result);

  /** Makes the slot's alias view read-write again; returns 0 or the errno. */
  int resetAlias(int slot);

  /** A run of the process's address space and its real protection. */
  record Mapping(long start, long end, boolean read, boolean write, boolean exec) {
    /** "rw-", "r--" or "---" style. */
    public String perms() {
      return (read ? "r" : "-") + (write ? "w" : "-") + (exec ? "x" : "-");
    }
  }

  /** The process's mappings as the OS reports them now, sorted by address. */
  List<Mapping> mappings();

  /**
   * The exception for a failed OS call: {@code request} says what was asked; the message adds
   * the errno name and what to do (.req.errors). {@code [base, limit)} is the memory the call
   * worked on, or {@code base == limit == 0} for a call that made new mappings.
   */
  ProtOsException failure(String request, int errno, long base, long limit);

  /**
   * What a failed OS call was doing, so that the advice in the message fits the operation
   * (.req.errors): the same errno asks for different remedies when a reserve, a protection
   * change or a tracker's detach fails.
   */
  enum Operation {
    /** ProtSet, a harvest's re-protection, ProtSync's repair: protection changes of regions. */
    PROTECT,
    /** reserve: new mappings (memfd, the two views, the record) and a region slot. */
    RESERVE,
    /** close of a region. */
    CLOSE,
    /** Attaching a userfaultfd tracker to a region (userfaultfd, UFFDIO_REGISTER). */
    TRACKER_ATTACH,
    /** A userfaultfd tracker's harvest (/proc/self/pagemap, PAGEMAP_SCAN). */
    TRACKER_HARVEST,
    /** Detaching a userfaultfd tracker (UFFDIO_UNREGISTER, close of its descriptor). */
    TRACKER_DETACH,
    /** Anything else (ProtSetup, a barrier policy change). */
    OTHER
  }

  /**
   * As {@link #failure(String, int, long, long)}, with advice that fits {@code op}. The default
   * ignores {@code op}.
   */
  default ProtOsException failure(Operation op, String request, int errno, long base, long limit) {
    return failure(request, errno, base, limit);
  }

  /** The native half of ProtTramp's mutator registration. */
  void mutatorEnter();

  void mutatorLeave();

  int mutatorDepth();

  /**
   * A dirty-tracking or fault backend and whether this machine offers it.
   * {@code transientFailure}: the probe failed for a reason that may pass (out of file
   * descriptors or memory, interrupted), so asking again later may answer differently; false
   * for an available backend and for what the kernel or the privileges decide.
   */
  record Backend(String name, boolean available, String detail, boolean transientFailure) {
    /** A backend whose answer does not change while the process runs. */
    public Backend(String name, boolean available, String detail) {
      this(name, available, detail, false);
    }
  }

  /** The backends this OS might offer, each probed now. */
  List<Backend> probeBackends();

  /** The kernel's name and release, such as "Linux 6.18.44". */
  String kernel();

  // The fault path (docs/design/fault.md); each returns 0 or an errno unless it says otherwise.

  /**
   * Restores the previous fault handlers; EBUSY while regions are live, EEXIST when another
   * handler was installed over the module's (POSIX; never on Windows).
   */
  int uninstall();

  int setPolicy(int slot, int policy, int fallback);

  /** A direct buffer over bitmap {@code which} (0 dirty, 1 touched) of the slot, 64-bit words. */
  java.nio.ByteBuffer bitmap(int slot, int which, long pages);

  /** Harvest of [first, first + count): see mpsprot_harvest; found[0] = pages reported. */
  int harvest(int slot, long first, long count, int modeAfter, long[] out, long[] found);

  /** Harvest of the touched bits of [first, first + count): see mpsprot_harvest_touched. */
  int harvestTouched(int slot, long first, long count, int modeAfter, long[] out, long[] found);

  /** Moves up to max log entries of the slot into out (32 bytes each); returns how many. */
  int drainLog(int slot, java.nio.ByteBuffer out, int max);

  /** A ticket of a parked mutator, or -1 after timeoutMs. Blocks in native code. */
  int handoffWait(int timeoutMs);

  /** The address of the ticket's struct mpsprot_context. */
  long handoffContext(int ticket);

  int handoffResolve(int ticket, int outcome);

  /** Parked mutators: out[3i] tid, out[3i+1] address, out[3i+2] ns parked; returns how many. */
  int handoffParked(long[] out, int max);

  long counter(int which);

  /** 1 if the context at ctx can be stepped. */
  int canStep(long ctx);

  /** 0, or ENOSYS when it cannot be stepped. */
  int step(long ctx);

  /** Words per record of {@link #drainFaultRing} (mpsprot.h MPSPROT_FAULT_RING_WORDS). */
  int FAULT_RING_WORDS = 6;

  /** Records the fault ring holds (mpsprot.h MPSPROT_FAULT_RING_CAPACITY). */
  int FAULT_RING_CAPACITY = 4096;

  /**
   * Sets the fault ring's sampling period (docs/design/fault.md .ring): 0 off, n every n-th
   * fault. Returns the previous period, or -1 (nothing changed) for a negative one.
   */
  int sampleFaults(int period);

  /**
   * Moves up to {@code max} records of the fault ring, oldest first, into out
   * ({@link #FAULT_RING_WORDS} words each: address, time ns, duration ns, thread id, slot,
   * access | policy &lt;&lt; 8 | resolution &lt;&lt; 16); returns how many.
   */
  int drainFaultRing(long[] out, int max);

  /** Fault records dropped because the ring was full, since the process started. */
  long faultRingDropped();

  /** Nanoseconds the ticket's mutator has been parked, or -1 when the ticket is not taken. */
  long handoffParkedNs(int ticket);
}
