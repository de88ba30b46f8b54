package org.mpsprot.barrier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * Writes by the kernel into a buffer it holds pinned (.tracker.pinned): an io_uring registered
 * buffer (IORING_REGISTER_BUFFERS) on a tracked page, filled by READ_FIXED from a file. Found on
 * Linux 6.18 and pinned here: the kernel writes through its own reference, with no fault and no
 * userfaultfd write-protect check, so without {@link Tracker#pinForKernel} the write is
 * <em>missed</em> by every strategy (this test documents that limit); with the pin every
 * harvest reports the buffer until the pin is closed, and once more after.
 *
 * <p>io_uring must be allowed (kernel.io_uring_disabled = 0, no seccomp filter refusing it);
 * otherwise the test is skipped and says why (SKIPPED on stdout and as the assumption's message).
 */
class PinnedBufferTest {
  private static final byte[] FIRST = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  private static final byte[] SECOND = {21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36};

  private static void requireIoUring() {
    String why = IoUring.unavailableReason();
    if (why != null) {
      System.out.println("PinnedBufferTest: SKIPPED: io_uring unavailable: " + why);
    }
    assumeTrue(why == null, "SKIPPED: io_uring unavailable: " + why);
  }

  @ParameterizedTest
  @ValueSource(strings = {"fault", "uffd", "cards"})
  void aWriteIntoAnIoUringRegisteredBufferIsMissedUnlessTheBufferIsPinned(String name) throws Exception {
    requireIoUring();
    WriteBarrierStrategy s = Strategies.byName(name);
    assumeTrue(s.availability().available(), "SKIPPED: " + name + " unavailable: " + s.availability());
    Prot prot = Prot.setup();
    long page = prot.granularity();
    Path file = Files.createTempFile("mpsprot-uring", ".bin");
    Files.write(file, concat(FIRST, SECOND));
    int fileFd = IoUring.openReadOnly(file);
    try (Region r = prot.reserve(4 * page); Tracker t = s.attach(r); IoUring ring = new IoUring(4)) {
      long buffer = r.base() + page + 64;
      int offset = (int) (buffer - r.base());
      int granule = (int) ((buffer - r.base()) / t.granule());
      t.harvest();
      // The registration pins the pages for writing: a system call that needs them writable.
      try (Tracker.SyscallWindow w = t.prepareForSyscall(buffer, FIRST.length)) {
        ring.registerBuffer(buffer, FIRST.length);
      }
      assertTrue(t.harvest().get(granule), "the window's granule is reported");
      assertFalse(t.harvest().get(granule), "and then clean");

      // Without a pin: the kernel writes through its pinned reference, and nothing sees it.
      assertEquals(FIRST.length, ring.readFixed(fileFd, buffer, FIRST.length, 0));
      assertEquals(FIRST[0], r.alias().get(offset), "the kernel wrote the buffer");
      assertEquals(FIRST[15], r.alias().get(offset + 15));
      assertFalse(t.harvest().get(granule),
          "the documented limit: a write into a registered buffer is missed by " + name);

      // With a pin: never trusted clean while pinned.
      Tracker.KernelPin pin = t.pinForKernel(buffer, FIRST.length);
      assertTrue(t.harvest().get(granule), "reported while pinned, even with no write");
      assertEquals(SECOND.length, ring.readFixed(fileFd, buffer, SECOND.length, FIRST.length));
      assertEquals(SECOND[0], r.alias().get(offset), "the kernel wrote the buffer again");
      assertTrue(t.harvest().get(granule), "the kernel's write is reported");
      ring.unregisterBuffers();
      pin.close();
      pin.close(); // idempotent
      assertTrue(t.harvest().get(granule), "reported once more after the pin closed");
      assertFalse(t.harvest().get(granule), "then tracked as usual");
    } finally {
      IoUring.closeFd(fileFd);
      Files.deleteIfExists(file);
    }
  }

  @Test
  void aPinOutsideTheRegionOrOfNothingIsRefused() {
    Prot prot = Prot.setup();
    long page = prot.granularity();
    try (Region r = prot.reserve(2 * page); Tracker t = new CardMarkingStrategy().attach(r)) {
      assertThrows(IllegalArgumentException.class, () -> t.pinForKernel(r.base(), 0));
      assertThrows(IllegalArgumentException.class, () -> t.pinForKernel(r.base() + page, page + 1));
      assertThrows(IllegalArgumentException.class, () -> t.pinForKernel(r.base() - 1, 8));
      t.close();
      assertThrows(IllegalStateException.class, () -> t.pinForKernel(r.base(), 8));
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
