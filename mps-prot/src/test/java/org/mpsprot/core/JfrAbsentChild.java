package org.mpsprot.core;

import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * Child of {@link JfrAbsentTest}: a JVM whose runtime has no jdk.jfr module runs the module
 * (regions, ProtSet, a batch, faults, a harvest, sync) and prints what it saw.
 */
public final class JfrAbsentChild {
  private JfrAbsentChild() {}

  public static void main(String[] args) {
    Prot prot = Prot.setup();
    long page = prot.granularity();
    try (Region r = prot.reserve(8 * page)) {
      r.setPolicy(BarrierPolicy.UNPROTECT);
      for (int i = 0; i < 10; i++) {
        r.protectAll(AccessSet.WRITE);
        r.mutatorView().putLong((int) ((i % 8) * page), i);
      }
      prot.batch().set(r.base(), r.base() + page, AccessSet.EMPTY).apply();
      System.out.println("harvested " + r.harvest(AccessSet.WRITE).cardinality());
      prot.sync();
    }
    System.out.println("jdk.jfr " + ModuleLayer.boot().findModule("jdk.jfr").isPresent());
    System.out.println("faults " + prot.counters().writeFaults());
    System.out.println("events " + Jfr.eventNames().size());
    System.out.println("ring " + Jfr.ringOn());
  }
}
