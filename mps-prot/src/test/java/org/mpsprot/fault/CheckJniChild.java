package org.mpsprot.fault;

import org.mpsprot.AccessSet;
import org.mpsprot.Accessors;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.HandoffFallback;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * Run by {@link CheckJniTest} under {@code -Xcheck:jni}: every kind of call the module makes
 * (reserve, protect, a fault of each resolving policy, harvest, drainLog, the accessors, sync,
 * close), so that a JNI misuse of ours shows up as a warning.
 */
public final class CheckJniChild {
  private CheckJniChild() {}

  public static void main(String[] args) throws Exception {
    Prot prot = Prot.setup();
    long page = prot.granularity();
    System.out.println("READY handler=" + prot.handlerInstalled());
    for (int round = 0; round < 3; round++) {
      try (Region r = prot.reserve(4 * page)) {
        r.setPolicy(BarrierPolicy.UNPROTECT);
        r.protectAll(AccessSet.WRITE);
        r.mutatorView().putLong(0, 1); // a fault, unprotected in the handler
        System.out.println("DIRTY " + r.harvest(AccessSet.WRITE));
        r.setPolicy(BarrierPolicy.STEP);
        r.mutatorView().putLong(8, 2); // a fault, stepped and logged
        System.out.println("LOG " + r.drainLog().size());
        r.setHandoff(ctx -> ctx.region().protectAll(AccessSet.EMPTY), HandoffFallback.FAIL_FAST);
        r.protectAll(AccessSet.ALL);
        System.out.println("HANDOFF " + Accessors.getLong(r.base()));
        prot.batch().set(r.base(), r.base() + page, AccessSet.WRITE).apply();
        System.out.println("SYNC " + prot.sync().clean() + " " + r.dirtyPages() + " " + r.touchedPages());
        prot.tramp(() -> Accessors.getLong(r.base() + 8));
      }
    }
    System.out.println("DONE");
  }
}
