package org.mpsprot.step;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.FaultCounters;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.testing.OsMaps;

/**
 * Run in a child JVM by {@link StepJitEndToEndTest} under one execution mode (the JVM flags
 * choose the interpreter, C1 or C2): for each {@link JitWorkloads} workload, warms the code up on
 * an unprotected region (compiled modes), then runs it once on a STEP region whose pages are
 * all no-access and once on an unprotected region from the same state, and prints one line:
 * {@code RESULT name faults=F stepped=S unprotected=U logfull=L logged=N same=B memory=B perms=P}.
 *
 * <p>Arguments: the mode's label, {@code warm} or {@code cold}, and optionally a directory
 * holding the compiled SegmentWorkload classes (JDK 22+).
 */
public final class StepJitChild {
  /** Calls of the measured run (each of {@code chunk()} iterations; the log drained between). */
  static final int ROUNDS = 10;

  private StepJitChild() {}

  public static void main(String[] args) throws Exception {
    boolean warm = args[1].equals("warm");
    List<JitWorkloads.Workload> list = new ArrayList<>(JitWorkloads.all());
    if (args.length > 2) {
      URLClassLoader l = new URLClassLoader(new URL[] {Path.of(args[2]).toUri().toURL()},
          StepJitChild.class.getClassLoader());
      for (String c : new String[] {"SegmentWorkload", "SegmentWorkload$Copy"}) {
        list.add((JitWorkloads.Workload) l.loadClass(c).getConstructor().newInstance());
      }
    }
    Prot prot = Prot.setup();
    for (JitWorkloads.Workload w : list) {
      try (Region plain = prot.reserve(JitWorkloads.SPAN);
          Region stepped = prot.reserve(JitWorkloads.SPAN)) {
        System.out.println(measure(prot, w, plain, stepped, warm));
      }
    }
    System.out.println("DONE ok");
  }

  static String measure(Prot prot, JitWorkloads.Workload w, Region plain, Region stepped,
      boolean warm) {
    ByteBuffer pv = plain.mutatorView();
    ByteBuffer sv = stepped.mutatorView();
    if (warm) {
      // Enough invocations and loop iterations that C1 and C2 (-Xbatch: synchronously)
      // compile run() and what it inlines before the measured run.
      w.init(plain.alias());
      for (int calls = 0, iters = 0; calls < 300 || iters < 60_000; calls++, iters += w.chunk()) {
        w.run(plain.base(), pv, calls, w.chunk());
      }
    }
    stepped.setPolicy(BarrierPolicy.STEP);
    w.init(stepped.alias());
    stepped.protectAll(AccessSet.ALL);
    long got = 0;
    long logged = 0;
    FaultCounters before = prot.counters();
    for (int i = 0; i < ROUNDS; i++) {
      got = got * 31 + w.run(stepped.base(), sv, 1000 + i, w.chunk());
      logged += drained(stepped);
    }
    FaultCounters d = prot.counters().minus(before);
    w.init(plain.alias());
    long expected = 0;
    for (int i = 0; i < ROUNDS; i++) {
      expected = expected * 31 + w.run(plain.base(), pv, 1000 + i, w.chunk());
    }
    byte[] a = new byte[JitWorkloads.SPAN];
    byte[] b = new byte[JitWorkloads.SPAN];
    plain.alias().get(0, a);
    stepped.alias().get(0, b);
    String perms = String.join(",", OsMaps.perms(stepped.base(), JitWorkloads.SPAN / 4096, 4096));
    return "RESULT " + w.name() + " faults=" + (d.readFaults() + d.writeFaults())
        + " stepped=" + d.stepped() + " unprotected=" + d.unprotected() + " logfull=" + d.logFull()
        + " logged=" + logged + " same=" + (expected == got) + " memory="
        + java.util.Arrays.equals(a, b) + " perms=" + perms;
  }

  private static long drained(Region r) {
    long n = 0;
    for (var part = r.drainLog(); !part.isEmpty(); part = r.drainLog()) {
      n += part.size();
    }
    return n;
  }
}
