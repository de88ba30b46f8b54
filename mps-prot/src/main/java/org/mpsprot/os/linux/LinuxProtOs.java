package org.mpsprot.os.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.mpsprot.MapCountExhaustedException;
import org.mpsprot.ProtOsException;
import org.mpsprot.os.ProtOs;

/**
 * The Linux implementation of the OS seam (.seam.os): the shim's prot_posix.c and prot_linux.c
 * (memfd mapped twice, mprotect) and probe_linux.c, through {@link Shim}. Stateless and
 * thread-safe.
 */
public final class LinuxProtOs implements ProtOs {
  private static final String MAX_MAP_COUNT = "/proc/sys/vm/max_map_count";

  private final long pageSize;

  private LinuxProtOs() {
    int version;
    try {
      version = Shim.mpsprot_version();
    } catch (UnsatisfiedLinkError e) {
      throw new UnsatisfiedLinkError(
          "libmpsprot for " + com.sun.jna.Platform.RESOURCE_PREFIX + " is not on the class path"
              + " (expected " + com.sun.jna.Platform.RESOURCE_PREFIX + "/libmpsprot.so from"
              + " mps-prot-native); build it with `mvn -q install -DskipTests`: " + e.getMessage());
    }
    if (version != Shim.API_VERSION) {
      throw new IllegalStateException(
          "libmpsprot API version " + version + " found, " + Shim.API_VERSION
              + " expected: the jar and the shim come from different builds; rebuild both");
    }
    pageSize = Shim.mpsprot_page_size();
  }

  /** Loads the shim; throws {@link UnsatisfiedLinkError} naming what is missing. */
  public static LinuxProtOs load() {
    return new LinuxProtOs();
  }

  @Override
  public String platform() {
    return com.sun.jna.Platform.RESOURCE_PREFIX;
  }

  @Override
  public long pageSize() {
    return pageSize;
  }

  @Override
  public void setup() {
    int err = Shim.mpsprot_setup();
    if (err != 0) {
      throw failure("ProtSetup", err, 0, 0);
    }
  }

  @Override
  public boolean handlerInstalled() {
    return Shim.mpsprot_handler_installed() != 0;
  }

  @Override
  public NativeRegion createRegion(long size) {
    long[] out = new long[4];
    int err = Shim.mpsprot_region_create(size, out);
    if (err != 0) {
      String stage = switch ((int) out[3]) {
        case 1 -> "memfd_create";
        case 2 -> "ftruncate of the memfd";
        case 3 -> "mmap of the mutator's view";
        case 4 -> "mmap of the alias view";
        case 5 -> "mmap of the protection record";
        case 6 -> "finding a free region slot (" + 1024 + " regions are live)";
        default -> "the shim's argument check";
      };
      throw failure("reserve(" + size + " bytes): " + stage, err, 0, 0);
    }
    return new NativeRegion((int) out[0], out[1], out[2], size);
  }

  @Override
  public void destroyRegion(int slot) {
    int err = Shim.mpsprot_region_destroy(slot);
    if (err != 0) {
      throw failure("close of region slot " + slot, err, 0, 0);
    }
  }

  /** One native int per thread for mpsprot_protect's restore flag, so a call copies no array. */
  private static final ThreadLocal<com.sun.jna.Memory> RESTORE_FLAG =
      ThreadLocal.withInitial(() -> new com.sun.jna.Memory(4));

  @Override
  public int protect(int slot, long offset, long length, int modeBits, int[] restoreFailed) {
    com.sun.jna.Memory flag = RESTORE_FLAG.get();
    int err = Shim.mpsprot_protect(slot, offset, length, modeBits, com.sun.jna.Pointer.nativeValue(flag));
    if (err != 0) {
      restoreFailed[0] = flag.getInt(0);
    }
    return err;
  }

  @Override
  public long recordAddress(int slot) {
    return Shim.mpsprot_region_record(slot);
  }

  @Override
  public java.nio.ByteBuffer buffer(long address, long size) {
    return new com.sun.jna.Pointer(address).getByteBuffer(0, size);
  }

  @Override
  public int resetAlias(int slot) {
    return Shim.mpsprot_region_alias_reset(slot);
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
  public void mutatorEnter() {
    Shim.mpsprot_mutator_enter();
  }

  @Override
  public void mutatorLeave() {
    Shim.mpsprot_mutator_leave();
  }

  @Override
  public int mutatorDepth() {
    return Shim.mpsprot_mutator_depth();
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

  @Override
  public int uninstall() {
    return Shim.mpsprot_uninstall();
  }

  @Override
  public int setPolicy(int slot, int policy, int fallback) {
    return Shim.mpsprot_region_set_policy(slot, policy, fallback);
  }

  @Override
  public java.nio.ByteBuffer bitmap(int slot, int which, long pages) {
    long words = (pages + 63) / 64;
    return buffer(Shim.mpsprot_region_bitmap(slot, which), words * 8);
  }

  @Override
  public int harvest(int slot, long first, long count, int modeAfter, long[] out, long[] found) {
    return Shim.mpsprot_harvest(slot, first, count, modeAfter, out, found);
  }

  @Override
  public int drainLog(int slot, java.nio.ByteBuffer out, int max) {
    return Shim.mpsprot_log_drain(slot, out, max);
  }

  @Override
  public int handoffWait(int timeoutMs) {
    return Shim.mpsprot_handoff_wait(timeoutMs);
  }

  @Override
  public long handoffContext(int ticket) {
    return Shim.mpsprot_handoff_context(ticket);
  }

  @Override
  public int handoffResolve(int ticket, int outcome) {
    return Shim.mpsprot_handoff_resolve(ticket, outcome);
  }

  @Override
  public int handoffParked(long[] out, int max) {
    return Shim.mpsprot_handoff_parked(out, max);
  }

  @Override
  public long counter(int which) {
    return Shim.mpsprot_counter(which);
  }

  @Override
  public int canStep(long ctx) {
    return Shim.mpsprot_context_can_step(ctx);
  }

  @Override
  public int step(long ctx) {
    return Shim.mpsprot_context_step(ctx);
  }
}
