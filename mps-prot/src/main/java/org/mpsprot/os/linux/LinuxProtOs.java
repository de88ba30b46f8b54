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

  @Override
  public ProtOsException failure(String request, int errno, long base, long limit) {
    String name = Errno.name(errno);
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
        return new MapCountExhaustedException(
            request + " failed: ENOMEM: the process has " + count + " mappings and "
                + MAX_MAP_COUNT + " is " + max + ". Each protected run whose neighbours differ"
                + " splits a mapping. What to do: raise the limit (sysctl -w vm.max_map_count="
                + (max * 2) + ") or protect in fewer, longer runs (Prot.batch() coalesces)."
                + " The module's record still equals the OS's protection.",
            errno, count, max);
      }
      return new ProtOsException(
          request + " failed: ENOMEM: the OS has no room for it (address space or kernel"
              + " memory; the process has " + count + " of " + max + " mappings). What to do:"
              + " ask for less.",
          errno, name);
    }
    String advice = switch (errno) {
      case Errno.EFBIG, Errno.EINVAL -> "the size is beyond what the OS will map; ask for less";
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
      default -> "probe failed: " + Errno.name(uffd);
    };
    int soft = Shim.mpsprot_probe_soft_dirty(detail);
    String softDetail = switch (soft) {
      case 0 -> "self-test passed (pagemap bit 55 set after clear_refs 4 and a write)";
      case Errno.EOPNOTSUPP -> String.format(
          "self-test failed: pagemap bit 55 not set after clear_refs 4 and a write"
              + " (entry 0x%x); treated as unavailable", detail[0]);
      default -> "self-test could not run: " + Errno.name(soft);
    };
    return List.of(
        new Backend("protection faults (SIGSEGV)", true,
            handlerInstalled() ? "handler installed" : "handler not installed"),
        new Backend("userfaultfd write-protect", uffd == 0, uffdDetail),
        new Backend("soft-dirty", soft == 0, softDetail));
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
