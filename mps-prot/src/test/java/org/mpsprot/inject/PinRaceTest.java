package org.mpsprot.inject;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Callback;
import com.sun.jna.Native;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.os.ShimLibrary;

/**
 * region.h: a slot's pin count is never reset while other threads run. The interleaving, set
 * up with the seam's pause points (mpsprot.h MPSPROT_INJECT_PAUSE_*): an entry point sees the
 * slot's region LIVE; that region is destroyed; the entry point adds its pin; a new region is
 * created in the same slot; the entry point sees it LIVE and holds its pin. Closing the new
 * region must then wait for that pin. Before the fix, creation reset the count to 0: the close
 * went ahead and unmapped the region under the pinned call (the ENOMEM test_region_api saw
 * once under qemu), and the pin's release left the count at -1.
 */
@EnabledIfSystemProperty(named = "mpsprot.inject", matches = "true",
    disabledReason = "needs the fault-injection build of the shim: run by the fault-injection execution")
class PinRaceTest {
  /** mpsprot.h mpsprot_inject_pause_fn. */
  public interface PauseFn extends Callback {
    void invoke(int point);
  }

  static {
    Native.register(PinRaceTest.class, ShimLibrary.INSTANCE);
  }

  private static native int mpsprot_inject_pause(PauseFn fn);

  private static native int mpsprot_region_alias_reset(int slot);

  private static native int mpsprot_region_find(long address);

  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();

  private static void await(CountDownLatch l, String what) {
    try {
      assertTrue(l.await(10, TimeUnit.SECONDS), "timed out waiting: " + what);
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aRegionCreatedUnderARacingPinIsNotClosedUnderIt() throws Exception {
    CountDownLatch seen = new CountDownLatch(1);
    CountDownLatch added = new CountDownLatch(1);
    CountDownLatch held = new CountDownLatch(1);
    CountDownLatch go1 = new CountDownLatch(1);
    CountDownLatch go2 = new CountDownLatch(1);
    CountDownLatch go3 = new CountDownLatch(1);
    Thread[] racer = new Thread[1];
    PauseFn fn = point -> {
      if (Thread.currentThread() != racer[0]) {
        return;
      }
      switch (point) {
        case 1: seen.countDown(); await(go1, "go past PIN_SEEN"); break;
        case 2: added.countDown(); await(go2, "go past PIN_ADDED"); break;
        case 3: held.countDown(); await(go3, "go past PIN_HELD"); break;
        default: break;
      }
    };
    Region r1 = prot.reserve(4 * page);
    int slot = mpsprot_region_find(r1.base());
    AtomicInteger answer = new AtomicInteger(-1);
    racer[0] = new Thread(() -> answer.set(mpsprot_region_alias_reset(slot)), "pin-racer");
    assertEquals(0, mpsprot_inject_pause(fn));
    Region r2 = null;
    Thread closer = null;
    try {
      racer[0].start();
      await(seen, "the racer sees region 1 LIVE");
      r1.close(); // its pin is not added yet: the destroy does not wait
      go1.countDown();
      await(added, "the racer adds its pin to the free slot");
      r2 = prot.reserve(4 * page);
      Assumptions.assumeTrue(mpsprot_region_find(r2.base()) == slot,
          "the new region got another slot than " + slot + ": the interleaving needs the same one");
      go2.countDown();
      await(held, "the racer sees region 2 LIVE and holds its pin");
      Region r = r2;
      closer = new Thread(r::close, "closer");
      closer.start();
      closer.join(500);
      assertTrue(closer.isAlive(), "closing region 2 waits for the racer's pin (a destroy that did not"
          + " would unmap the region under the pinned call)");
    } finally {
      go1.countDown();
      go2.countDown();
      go3.countDown();
      racer[0].join(10_000);
      if (closer != null) {
        closer.join(10_000);
      }
      mpsprot_inject_pause(null);
      if (r2 != null) {
        r2.close();
      }
    }
    assertFalse(closer.isAlive(), "the close ends once the pin is released");
    assertEquals(0, answer.get(), "the pinned call ran on a mapped region (0, not ENOMEM)");
    // The count is back to 0: a region in the same slot closes at once.
    Region r3 = prot.reserve(4 * page);
    Thread c3 = new Thread(r3::close, "closer 3");
    c3.start();
    c3.join(5_000);
    assertFalse(c3.isAlive(), "a later close of the slot does not wait for a pin count left at -1");
  }
}
