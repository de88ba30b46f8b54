package org.mpsprot.os;

import java.util.List;
import org.mpsprot.ProtOsException;
import org.mpsprot.os.linux.LinuxProtOs;

/**
 * The OS seam (.seam.os): everything the generic module ({@link org.mpsprot.core.ProtModule})
 * needs from one operating system. One implementation per OS, chosen at run time by
 * {@link #current()}; Linux is {@link LinuxProtOs}. Windows and macOS plug in here.
 *
 * <p>Implementations are thread-safe; the generic module serialises protection changes.
 */
public interface ProtOs {

  /** The implementation for the running OS and CPU. */
  static ProtOs current() {
    String os = System.getProperty("os.name", "");
    if (os.startsWith("Linux")) {
      return LinuxProtOs.load();
    }
    throw new UnsupportedOperationException(
        "mps-prot has no protection module for os.name=" + os + ", os.arch="
            + System.getProperty("os.arch")
            + ": Linux is implemented; Windows and macOS plug in behind org.mpsprot.os.ProtOs"
            + " (docs/design/os.md)");
  }

  /** JNA's resource prefix for this OS and CPU, such as {@code linux-x86-64}. */
  String platform();

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

  /**
   * One protection change on the slot's mutator view; returns 0 or the errno. On failure the
   * shim has restored the pages' previous protection; {@code restoreFailed[0]} is 1 if that
   * restore failed too.
   */
  int protect(int slot, long offset, long length, int modeBits, int[] restoreFailed);

  /** Address of the slot's record: one byte of AccessSet bits per page. */
  long recordAddress(int slot);

  /** A direct buffer over native memory {@code [address, address + size)}. */
  java.nio.ByteBuffer buffer(long address, long size);

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

  /** The native half of ProtTramp's mutator registration. */
  void mutatorEnter();

  void mutatorLeave();

  int mutatorDepth();

  /** A dirty-tracking or fault backend and whether this machine offers it. */
  record Backend(String name, boolean available, String detail) {}

  /** The backends this OS might offer, each probed now. */
  List<Backend> probeBackends();

  /** The kernel's name and release, such as "Linux 6.18.44". */
  String kernel();
}
