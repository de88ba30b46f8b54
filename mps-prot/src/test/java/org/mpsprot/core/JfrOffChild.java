package org.mpsprot.core;

import jdk.jfr.FlightRecorder;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.os.ProtOs;

/**
 * Child of {@link JfrOffTest}: a JVM without JFR runs the module (regions, ProtSet, faults, a
 * harvest) and prints what the JFR support left behind.
 */
public final class JfrOffChild {
  private JfrOffChild() {}

  public static void main(String[] args) {
    Prot prot = Prot.setup();
    long page = prot.granularity();
    try (Region r = prot.reserve(8 * page)) {
      r.setPolicy(BarrierPolicy.UNPROTECT);
      for (int i = 0; i < 100; i++) {
        r.protectAll(AccessSet.WRITE);
        r.mutatorView().putLong((int) ((i % 8) * page), i);
      }
      r.harvest(AccessSet.WRITE);
      prot.sync();
    }
    ProtOs os = ProtModule.instance().os();
    long jfrThreads = Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().toUpperCase().contains("JFR")).count();
    System.out.println("faults " + prot.counters().writeFaults());
    System.out.println("jfr-initialized " + FlightRecorder.isInitialized());
    System.out.println("jfr-threads " + jfrThreads);
    System.out.println("recording " + Jfr.recording);
    System.out.println("ring-period " + os.sampleFaults(0));
    System.out.println("ring-records " + os.drainFaultRing(new long[ProtOs.FAULT_RING_WORDS * 16], 16));
    // The regions' Cleaner thread (prot.md .sol.cleaner) runs whether JFR is on or not.
    System.out.println("mps-threads " + Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("mps-prot") && !t.getName().equals(RegionHandle.CLEANER_THREAD))
        .count());
  }
}
