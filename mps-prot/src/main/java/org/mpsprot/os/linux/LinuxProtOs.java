package org.mpsprot.os.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.mpsprot.MapCountExhaustedException;
import org.mpsprot.ProtOsException;
import org.mpsprot.os.ShimProtOs;

/**
 * The Linux implementation of the OS seam (.seam.os): the shim's prot_posix.c and prot_linux.c
 * (memfd mapped twice, mprotect) and probe_linux.c. The calls every OS shares are
 * {@link ShimProtOs}'s; this class adds what is Linux's own: /proc/self/maps for ProtSync, the
 * errno names and advice (vm.max_map_count), the userfaultfd and soft-dirty probes (through
 * {@link Shim}) and the kernel's name. Stateless and thread-safe.
 */
public final class LinuxProtOs extends ShimProtOs {
  private static final String MAX_MAP_COUNT = "/proc/sys/vm/max_map_count";

  private LinuxProtOs() {
    super("libmpsprot.so");
  }

  /** Loads the shim; throws {@link UnsatisfiedLinkError} naming what is missing. */
  public static LinuxProtOs load() {
    return new LinuxProtOs();
  }

  @Override
  public String protectCall() {
    return "mprotect";
  }

  @Override
  public String protectionSource() {
    return "/proc/self/maps";
  }

  @Override
  protected String createStage(int stage) {
    return switch (stage) {
      case 1 -> "memfd_create";
      case 2 -> "ftruncate of the memfd";
      case 3 -> "mmap of the mutator's view";
      case 4 -> "mmap of the alias view";
      case 7 -> "mmap reserving the region's address space (both views, the bookkeeping and"
          + " the guard pages between them)";
      case 8 -> "madvise(MADV_DONTFORK) of the region's mappings (or pthread_atfork)";
      default -> "mmap of the protection record";
    };
  }

  @Override
  public List<Mapping> mappings() {
    return ProcMaps.read();
  }

  /** The advice of a failure with no operation named: a protection change, or OTHER. */
  @Override
  public ProtOsException failure(String request, int errno, long base, long limit) {
    return failure(base == limit ? Operation.OTHER : Operation.PROTECT, request, errno, base, limit);
  }

  @Override
  public ProtOsException failure(Operation op, String request, int errno, long base, long limit) {
    String name = Errno.name(errno);
    boolean tracker = op == Operation.TRACKER_ATTACH || op == Operation.TRACKER_HARVEST
        || op == Operation.TRACKER_DETACH;
    if (op == Operation.TRACKER_DETACH) {
      // Whatever failed, the shim closed the tracker's userfaultfd, which ends its registration:
      // there is nothing to undo, and a remedy for the mapping limit or memory would mislead.
      return new ProtOsException(request + " failed: " + name + ". What to do: "
          + trackerAdvice(op, errno), errno, name);
    }
    if (errno == Errno.ENOMEM && base != limit && !whollyMapped(base, limit)) {
      return new ProtOsException(
          request + " failed: ENOMEM: part of the range is no longer mapped; something outside"
              + " the module unmapped or replaced the region's memory (munmap, mmap MAP_FIXED)."
              + " What to do: find that code; the module re-applied what it could and cannot"
              + " restore unmapped pages (ProtSync reports them).",
          errno, name);
    }
    if (errno == Errno.ENOMEM) {
      long count = ProcMaps.count();
      long max = maxMapCount();
      // mprotect and mmap of the module's own memory fail with ENOMEM for want of a mapping
      // when the process is at vm.max_map_count (a failed split leaves it just below).
      if (max > 0 && count >= max - 8) {
        String raise = "raise the limit (sysctl -w vm.max_map_count=" + (max * 2) + ")";
        String advice = switch (op) {
          case RESERVE -> "Each region costs three mappings (the mutator's view, the alias view,"
              + " the record) and more as its pages get different protections. What to do: "
              + raise + ", or use fewer regions (close those no longer needed, or reserve fewer,"
              + " larger ones). Nothing of the refused region is left behind.";
          case TRACKER_ATTACH -> "Registering a region with"
              + " userfaultfd may split its mappings. What to do: " + raise + ", or give the"
              + " region fewer mappings (protect in fewer, longer runs: Prot.batch() coalesces).";
          case PROTECT -> "Each protected run whose neighbours differ splits a mapping. What to"
              + " do: " + raise + " or protect in fewer, longer runs (Prot.batch() coalesces)."
              + " The module's record still equals the OS's protection.";
          default -> "What to do: " + raise + ", or close regions (each costs mappings).";
        };
        return new MapCountExhaustedException(
            request + " failed: ENOMEM: the process has " + count + " mappings and "
                + MAX_MAP_COUNT + " is " + max + ". " + advice,
            errno, count, max);
      }
      String room = "(the process has " + count + " of " + max + " mappings)";
      String advice = switch (op) {
        case RESERVE -> "the OS has no room for the region (address space, memory, or the"
            + " overcommit policy) " + room + ". What to do: reserve less, or close regions.";
        case TRACKER_ATTACH, TRACKER_HARVEST -> "the kernel had no memory for"
            + " the userfaultfd registration or the page tables " + room + ". What to do: free"
            + " memory and try again; the failure is not remembered.";
        default -> "the OS has no room for it (address space or kernel memory; " + room.substring(1)
            + ". What to do: ask for less.";
      };
      return new ProtOsException(request + " failed: ENOMEM: " + advice, errno, name);
    }
    String advice = tracker ? trackerAdvice(op, errno) : switch (errno) {
      case Errno.EFBIG, Errno.EINVAL -> op == Operation.CLOSE
          ? "the region is not live in the shim (closed already?); nothing is left to close"
          : op == Operation.RESERVE || op == Operation.PROTECT
          ? "the size is beyond what the OS will map; ask for less"
          : "the shim refused the arguments; see the OS manual page of the call named above";
      case Errno.EMFILE, Errno.ENFILE -> "the process or system is out of file descriptors;"
          + " close regions or raise the limit (ulimit -n)";
      case Errno.EACCES, Errno.EPERM -> "the OS forbids this protection on this memory;"
          + " a security policy (SELinux, seccomp) may be in the way";
      case Errno.ENOSYS -> "the kernel lacks memfd_create (Linux 3.17+ is required)";
      default -> "see the OS manual page of the call named above";
    };
    return new ProtOsException(request + " failed: " + name + ". What to do: " + advice, errno,
        name);
  }

  /** What to do when a userfaultfd tracker's attach, harvest or detach failed with errno. */
  private static String trackerAdvice(Operation op, int errno) {
    String fds = "the process or system was out of file descriptors (a tracker holds one, and"
        + " harvests open /proc/self/pagemap once); close some or raise the limit (ulimit -n) and"
        + " try again: the failure is not remembered";
    if (op == Operation.TRACKER_DETACH) {
      String released = " The tracker's userfaultfd was closed anyway, which releases every"
          + " registration it held: the region's pages stay writable and untracked.";
      return switch (errno) {
        case Errno.EINVAL -> "nothing: the region was no longer registered with the tracker's"
            + " userfaultfd (it was closed before its tracker, or its memory was replaced)."
            + released;
        case Errno.EMFILE, Errno.ENFILE -> "nothing to undo; " + fds + "." + released;
        default -> "nothing to undo: UFFDIO_UNREGISTER failed." + released;
      };
    }
    if (op == Operation.TRACKER_HARVEST) {
      String kept = " No written page was lost: pages not reported stay marked written and are"
          + " reported by the next harvest that succeeds";
      return switch (errno) {
        case Errno.EMFILE, Errno.ENFILE -> fds + "." + kept + ".";
        case Errno.ENOENT -> "the region is not registered for userfaultfd write-protect any more"
            + " (detached, or its memory was replaced by code outside the module); writes since"
            + " then cannot be told: treat the whole region as written and attach a new tracker";
        case Errno.EINVAL -> "the page range is outside the region, or the region was closed";
        default -> "see ioctl_userfaultfd(2) and PAGEMAP_SCAN (Documentation/admin-guide/mm/"
            + "pagemap.rst)." + kept + " (the tracker owes them to its next harvest).";
      };
    }
    return switch (errno) { // TRACKER_ATTACH
      case Errno.EMFILE, Errno.ENFILE -> fds;
      case Errno.EPERM -> "the process may not use userfaultfd (vm.unprivileged_userfaultfd=0):"
          + " run with CAP_SYS_PTRACE, or set vm.unprivileged_userfaultfd=1, or use another"
          + " write-barrier strategy";
      case Errno.EOPNOTSUPP, Errno.ENOSYS -> "the kernel lacks userfaultfd write-protect in async"
          + " mode or PAGEMAP_SCAN (Linux 6.7+); use another write-barrier strategy";
      case Errno.EBUSY -> "a userfaultfd tracker is attached to this region already; close it first";
      case Errno.EINVAL -> "the region is not live in the shim (closed?), or the kernel refused to"
          + " register its memory";
      default -> "see ioctl_userfaultfd(2)";
    };
  }

  private static boolean whollyMapped(long base, long limit) {
    long at = base;
    for (Mapping m : ProcMaps.read()) {
      if (Long.compareUnsigned(m.start(), at) <= 0 && Long.compareUnsigned(at, m.end()) < 0) {
        at = m.end();
        if (Long.compareUnsigned(at, limit) >= 0) {
          return true;
        }
      }
    }
    return false;
  }

  /** vm.max_map_count, or -1 if it cannot be read. */
  public static long maxMapCount() {
    try {
      return Long.parseLong(procLine(MAX_MAP_COUNT));
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  /**
   * The first line of a /proc file. Read line by line: on some kernels
   * {@code Files.readString} of a /proc/sys file returns only its first byte (seen on 6.18).
   */
  static String procLine(String path) throws IOException {
    try (var in = Files.newBufferedReader(Path.of(path))) {
      String line = in.readLine();
      if (line == null) {
        throw new IOException(path + " is empty");
      }
      return line.trim();
    }
  }

  /** The number of mappings the process holds now. */
  public static long mapCount() {
    return ProcMaps.count();
  }

  @Override
  public List<Backend> probeBackends() {
    long[] detail = new long[1];
    int uffd = Shim.mpsprot_probe_uffd_wp_async(detail);
    String uffdDetail = switch (uffd) {
      case 0 -> String.format("write-protect async + PAGEMAP_SCAN work (features 0x%x)", detail[0]);
      case Errno.EPERM -> "userfaultfd refused (EPERM): not privileged, vm.unprivileged_userfaultfd=0,"
          + " and UFFD_USER_MODE_ONLY refused too";
      case Errno.ENOSYS -> "the kernel has no userfaultfd system call (ENOSYS)";
      case Errno.EOPNOTSUPP -> String.format(
          "the kernel lacks UFFD_FEATURE_WP_ASYNC/WP_UNPOPULATED (Linux 6.7+); features 0x%x",
          detail[0]);
      case Errno.ENOTTY -> "the kernel lacks the PAGEMAP_SCAN ioctl (Linux 6.7+)";
      default -> "probe failed: " + Errno.name(uffd) + transientNote(uffd);
    };
    int soft = Shim.mpsprot_probe_soft_dirty(detail);
    String softDetail = switch (soft) {
      case 0 -> "self-test passed (pagemap bit 55 set after clear_refs 4 and a write)";
      case Errno.EOPNOTSUPP -> String.format(
          "self-test failed: pagemap bit 55 not set after clear_refs 4 and a write"
              + " (entry 0x%x); treated as unavailable", detail[0]);
      default -> "self-test could not run: " + Errno.name(soft) + transientNote(soft);
    };
    return List.of(
        new Backend("protection faults (SIGSEGV)", true,
            handlerInstalled() ? "handler installed" : "handler not installed"),
        new Backend("userfaultfd write-protect", uffd == 0, uffdDetail, isTransient(uffd)),
        new Backend("soft-dirty", soft == 0, softDetail, isTransient(soft)));
  }

  /**
   * True for an errno that says the process or the system was short of something for the
   * moment (descriptors, memory) or was interrupted: a probe that failed so may succeed later,
   * so its answer must not be kept.
   */
  public static boolean isTransient(int errno) {
    return errno == Errno.EMFILE || errno == Errno.ENFILE || errno == Errno.ENOMEM
        || errno == Errno.EAGAIN || errno == Errno.EINTR;
  }

  private static String transientNote(int errno) {
    return isTransient(errno) ? " (transient: the process or the system was short of file"
        + " descriptors or memory; the probe runs again when asked again)" : "";
  }

  @Override
  public String kernel() {
    try {
      return procLine("/proc/sys/kernel/ostype") + " " + procLine("/proc/sys/kernel/osrelease");
    } catch (IOException e) {
      return System.getProperty("os.name") + " " + System.getProperty("os.version");
    }
  }
}
