package org.mpsprot.os.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;

/**
 * Linux soft-dirty bits (Documentation/admin-guide/mm/soft-dirty.rst): writing "4" to
 * /proc/self/clear_refs clears the bit of <em>every</em> page of the process and write-protects
 * them; the next write to a page sets bit 55 of its /proc/self/pagemap entry. Reading and
 * clearing are two separate steps, so a write between them is lost unless the writers are
 * stopped; and clear_refs is process-wide, so every user of soft-dirty in the process must
 * read its pages before any of them clears.
 *
 * <p>The module offers soft-dirty only where {@link #unavailableReason()} (the shim's run-time
 * self-test) returns null. Not verified on the project's machine, where the self-test fails.
 * Thread-safety: the methods are stateless; callers serialise read-then-clear.
 */
public final class SoftDirtyPages {
  private static final Path PAGEMAP = Path.of("/proc/self/pagemap");
  private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");
  /** Bit 55 of a pagemap entry: the page was written since the last clear_refs 4. */
  static final long SOFT_DIRTY = 1L << 55;

  private SoftDirtyPages() {}

  /** Null when the self-test passes, else the reason the module's probe gives. */
  public static String unavailableReason() {
    org.mpsprot.os.ProtOs.Backend b = probe();
    return b.available() ? null : b.detail();
  }

  /**
   * The self-test, run now: available when it passes; otherwise the reason as the detail, and
   * whether that reason may pass ({@link org.mpsprot.os.ProtOs.Backend#transientFailure()}: the
   * self-test could not run for want of file descriptors or memory).
   */
  public static org.mpsprot.os.ProtOs.Backend probe() {
    long[] detail = new long[1];
    int err = Shim.mpsprot_probe_soft_dirty(detail);
    if (err == 0) {
      return new org.mpsprot.os.ProtOs.Backend("soft-dirty", true,
          "self-test passed: pagemap bit 55 set after clear_refs 4 and a write");
    }
    if (err == Errno.EOPNOTSUPP) {
      return new org.mpsprot.os.ProtOs.Backend("soft-dirty", false, String.format(
          "self-test failed: pagemap bit 55 not set after clear_refs 4 and a write (entry 0x%x);"
              + " the kernel lacks CONFIG_MEM_SOFT_DIRTY or does not keep the bit", detail[0]));
    }
    boolean passing = LinuxProtOs.isTransient(err);
    return new org.mpsprot.os.ProtOs.Backend("soft-dirty", false, "self-test could not run: "
        + Errno.name(err) + (passing ? " (transient: the self-test runs again when asked again)" : ""),
        passing);
  }

  /** Clears the soft-dirty bit of every page of the process (clear_refs 4). */
  public static void clearAll() {
    try {
      Files.writeString(CLEAR_REFS, "4");
    } catch (IOException e) {
      throw new UncheckedIOException("writing 4 to " + CLEAR_REFS + " (soft-dirty clear) failed", e);
    }
  }

  /**
   * The pages of {@code [base, base + pages * pageSize)} whose soft-dirty bit is set (bit i for
   * page i); nothing is cleared.
   */
  public static BitSet read(long base, long pages, long pageSize) {
    ByteBuffer entries = ByteBuffer.allocate((int) (pages * 8)).order(ByteOrder.nativeOrder());
    try (FileChannel ch = FileChannel.open(PAGEMAP, StandardOpenOption.READ)) {
      long at = (base / pageSize) * 8;
      while (entries.hasRemaining()) {
        int n = ch.read(entries, at + entries.position());
        if (n <= 0) {
          throw new IOException("short read of " + PAGEMAP + " at " + at);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + PAGEMAP + " for soft-dirty bits failed", e);
    }
    return dirtyBits(entries.flip());
  }

  /** The pages whose pagemap entry (8 bytes each, native order) has bit 55. */
  static BitSet dirtyBits(ByteBuffer entries) {
    BitSet out = new BitSet();
    for (int i = 0; entries.remaining() >= 8; i++) {
      if ((entries.getLong() & SOFT_DIRTY) != 0) {
        out.set(i);
      }
    }
    return out;
  }
}
