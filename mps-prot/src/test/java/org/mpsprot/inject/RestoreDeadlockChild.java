package org.mpsprot.inject;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.FaultCounters;
import org.mpsprot.Prot;
import org.mpsprot.ProtOsException;
import org.mpsprot.Region;
import org.mpsprot.model.ProtModel;
import org.mpsprot.testing.OsMaps;

/**
 * The child JVM of {@link RestoreFailureTest#aFailedRestoreNeverDeadlocksAFaultingMutatorAtASafepoint}:
 * args[0] failed requests, each with a failing restore, while a mutator faults and a third thread
 * forces safepoints. Prints "DONE ..." and "RECORD equal" (or what differed); a deadlock never
 * prints and is killed by the parent.
 */
public final class RestoreDeadlockChild {
  private static final int ENOMEM = 12;
  private static volatile boolean stop;
  /** Stores the mutator may still make before the next drain: the step log (4096) never fills. */
  private static final java.util.concurrent.atomic.AtomicInteger budget =
      new java.util.concurrent.atomic.AtomicInteger();
  private static final int BUDGET = 2_000;

  public static void main(String[] args) throws Exception {
    int rounds = Integer.parseInt(args[0]);
    if (!Inject.available()) {
      throw new IllegalStateException("the child did not load the injection build");
    }
    Prot prot = Prot.setup();
    long page = prot.granularity();
    int pages = 16;
    Region r = prot.reserve(pages * page);
    r.setPolicy(BarrierPolicy.STEP);
    r.protectAll(AccessSet.WRITE);
    ByteBuffer view = r.mutatorView();
    int hot = 5;
    Thread mutator = new Thread(() -> {
      long i = 0;
      while (!stop) { // JIT-compiled stores in Java state, each a fault stepped in the handler
        if (budget.get() > 0) {
          budget.decrementAndGet();
          view.putLong((int) (hot * page + 8 * (i & 63)), i);
        }
        i++;
      }
    }, "mutator");
    Thread gc = new Thread(() -> {
      while (!stop) {
        System.gc();
      }
    }, "gc");
    mutator.setDaemon(true);
    gc.setDaemon(true);
    mutator.start();
    gc.start();
    // Warm up without injection until the mutator's loop is compiled and every fault steps:
    // a fault that cannot be stepped falls back to an mprotect, which must not meet an
    // injected failure (it would end the process, as the fault path's mprotect failures do).
    FaultCounters warm = prot.counters();
    long deadline = System.nanoTime() + 20_000_000_000L;
    for (int quiet = 0; quiet < 100 && System.nanoTime() < deadline; ) {
      FaultCounters c = prot.counters();
      r.drainLog();
      budget.set(BUDGET);
      r.protect(hot * page, page, AccessSet.WRITE);
      Thread.sleep(2);
      quiet = prot.counters().minus(c).unprotected() == 0 ? quiet + 1 : 0;
    }
    System.out.println("WARM " + prot.counters().minus(warm));
    FaultCounters before = prot.counters();
    int failed = 0;
    for (int k = 0; k < rounds; k++) {
      budget.set(0);
      r.drainLog(); // keep the step log from filling (a full log falls back to an mprotect)
      budget.set(BUDGET);
      r.protect(hot * page, page, AccessSet.WRITE);
      Inject.arm(Inject.Site.MPROTECT, 1, 2, ENOMEM); // the request and the restore fail
      try {
        r.protect(hot * page - 2 * page, 4 * page, AccessSet.ALL);
      } catch (ProtOsException e) {
        failed++;
      } finally {
        Inject.disarmAll();
      }
    }
    stop = true;
    mutator.join();
    gc.join();
    FaultCounters d = prot.counters().minus(before);
    String[] recorded = new String[pages];
    for (int p = 0; p < pages; p++) {
      recorded[p] = ProtModel.perms(r.mode(p * page));
    }
    String[] os = OsMaps.perms(r.base(), pages, page);
    System.out.println("DONE " + failed + " of " + rounds + " requests failed with a failing restore; "
        + d.stepped() + " faults stepped meanwhile, " + d.unprotected() + " unprotected");
    System.out.println("RECORD " + (Arrays.equals(recorded, os) ? "equal"
        : "record " + Arrays.toString(recorded) + " os " + Arrays.toString(os)));
    r.close();
    System.exit(failed == rounds ? 0 : 2);
  }
}
