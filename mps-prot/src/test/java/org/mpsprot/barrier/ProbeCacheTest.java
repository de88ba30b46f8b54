package org.mpsprot.barrier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.mpsprot.os.ProtOs;

/**
 * A strategy's availability is probed once and kept, except an "unavailable" caused by a
 * shortage that may pass (EMFILE while probing): that one is asked again (issue 10 item 14).
 */
class ProbeCacheTest {
  private static ProbeCache cacheOf(AtomicInteger calls, ProtOs.Backend... answers) {
    Deque<ProtOs.Backend> queue = new ArrayDeque<>(List.of(answers));
    return new ProbeCache(() -> {
      calls.incrementAndGet();
      return queue.size() > 1 ? queue.poll() : queue.peek();
    });
  }

  @Test
  void anUnavailableForWantOfDescriptorsIsProbedAgainAndAYesIsKept() {
    AtomicInteger calls = new AtomicInteger();
    ProbeCache c = cacheOf(calls,
        new ProtOs.Backend("userfaultfd write-protect", false, "probe failed: EMFILE (transient)", true),
        new ProtOs.Backend("userfaultfd write-protect", true, "works"));
    Availability first = c.get();
    assertFalse(first.available());
    assertTrue(first.reason().contains("EMFILE"), first.reason());
    Availability second = c.get();
    assertTrue(second.available(), "the descriptors are back: asked again, " + second);
    assertEquals(2, calls.get());
    c.get();
    assertEquals(2, calls.get(), "an available answer is kept");
  }

  @Test
  void anUnavailableTheKernelDecidedIsKept() {
    AtomicInteger calls = new AtomicInteger();
    ProbeCache c = cacheOf(calls,
        new ProtOs.Backend("userfaultfd write-protect", false, "the kernel lacks it (ENOSYS)"),
        new ProtOs.Backend("userfaultfd write-protect", true, "works"));
    assertFalse(c.get().available());
    assertFalse(c.get().available());
    assertEquals(1, calls.get(), "probed once");
  }
}
