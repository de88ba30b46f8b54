package org.mpsprot.fault;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.mpsprot.AccessSet;
import org.mpsprot.Accessors;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.FaultCounters;
import org.mpsprot.HandoffFallback;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * Run in a child JVM by {@link SafepointStressTest}: mutators fault at a high rate under one
 * policy while other threads call System.gc() in a loop and allocate, so that safepoints
 * happen constantly. Prints "DONE ..." and exits 0; a deadlock leaves it hanging, and the parent
 * kills it and fails.
 */
public final class StressChild {
  private StressChild() {}

  public static void main(String[] args) throws Exception {
    String policy = args[0];
    long millis = Long.parseLong(args[1]);
    Prot prot = Prot.setup();
    long page = prot.granularity();
    int pages = 64;
    Region r = prot.reserve(pages * page);
    switch (policy) {
      case "unprotect" -> r.setPolicy(BarrierPolicy.UNPROTECT);
      case "step" -> r.setPolicy(BarrierPolicy.STEP);
      case "handoff" -> r.setHandoff(ctx -> {
        long p = (ctx.address() - ctx.region().base()) / page * page;
        ctx.region().protect(p, page, AccessSet.EMPTY);
      }, HandoffFallback.FAIL_FAST);
      default -> throw new IllegalArgumentException(policy);
    }
    r.protectAll(AccessSet.WRITE);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong stores = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    ByteBuffer view = r.mutatorView();
    for (int m = 0; m < 2; m++) {
      int seed = m;
      threads.add(new Thread(() -> {
        SplittableRandom rnd = new SplittableRandom(seed);
        long n = 0;
        while (!stop.get()) {
          int offset = rnd.nextInt(pages) * (int) page + 8 * rnd.nextInt(8);
          if (policy.equals("handoff")) {
            Accessors.putLong(r.base() + offset, n);
          } else {
            view.putLong(offset, n); // JIT-compiled store: Java state
          }
          n++;
        }
        stores.addAndGet(n);
      }, "mutator-" + m));
    }
    threads.add(new Thread(() -> {
      while (!stop.get()) {
        if (policy.equals("handoff")) {
          r.protectAll(AccessSet.WRITE);
        } else {
          r.harvest(AccessSet.WRITE);
        }
        Thread.onSpinWait();
      }
    }, "collector"));
    threads.add(new Thread(() -> {
      while (!stop.get()) {
        System.gc();
      }
    }, "gc-caller"));
    threads.add(new Thread(() -> {
      List<byte[]> keep = new ArrayList<>();
      while (!stop.get()) {
        keep.add(new byte[1024]);
        if (keep.size() > 10_000) {
          keep.clear();
        }
      }
    }, "allocator"));
    FaultCounters before = prot.counters();
    threads.forEach(Thread::start);
    Thread.sleep(millis);
    stop.set(true);
    for (Thread t : threads) {
      t.join();
    }
    FaultCounters d = prot.counters().minus(before);
    System.out.println("DONE stores=" + stores.get() + " faults=" + (d.readFaults() + d.writeFaults())
        + " unprotected=" + d.unprotected() + " stepped=" + d.stepped() + " handoffs=" + d.handoffs()
        + " spurious=" + d.spurious());
    System.out.println("FAULTS " + (d.readFaults() + d.writeFaults()));
  }
}
