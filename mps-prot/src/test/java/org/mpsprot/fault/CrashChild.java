package org.mpsprot.fault;

import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import org.mpsprot.AccessSet;
import org.mpsprot.Accessors;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.HandoffFallback;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * Child-JVM scenarios that end the process, run by {@link JvmCoexistenceTest} and
 * {@link FailFastTest}: the parent checks how the child died.
 */
public final class CrashChild {
  private CrashChild() {}

  public static void main(String[] args) throws Exception {
    Prot prot = Prot.setup();
    Region r = prot.reserve(4 * prot.granularity());
    r.setPolicy(BarrierPolicy.UNPROTECT);
    System.out.println("READY handler=" + prot.handlerInstalled());
    System.out.flush();
    switch (args[0]) {
      case "unmapped" -> System.out.println("READ " + new Pointer(16).getLong(0)); // outside every region
      case "jit-handoff" -> {
        r.setHandoff(ctx -> ctx.region().protectAll(AccessSet.EMPTY), HandoffFallback.FAIL_FAST);
        r.protectAll(AccessSet.WRITE);
        ByteBuffer view = r.mutatorView();
        // Warm the store up so that it is JIT-compiled, on an open page first.
        Region warm = prot.reserve(prot.granularity());
        ByteBuffer w = warm.mutatorView();
        for (int i = 0; i < 200_000; i++) {
          store(w, i);
        }
        store(view, 1); // a JIT-compiled store into a HANDOFF region: must fail fast, never hang
        System.out.println("NOT REACHED");
      }
      case "no-policy" -> {
        r.setPolicy(BarrierPolicy.NONE);
        r.protectAll(AccessSet.ALL);
        Accessors.getLong(r.base() + 40);
        System.out.println("NOT REACHED");
      }
      case "handler-throws" -> {
        r.setHandoff(ctx -> {
          throw new IllegalStateException("collector bug on purpose");
        }, HandoffFallback.FAIL_FAST);
        r.protectAll(AccessSet.WRITE);
        Accessors.putLong(r.base() + 8, 1);
        System.out.println("NOT REACHED");
      }
      case "handler-does-nothing" -> {
        r.setHandoff(ctx -> { }, HandoffFallback.FAIL_FAST);
        r.protectAll(AccessSet.WRITE);
        Accessors.putLong(r.base() + 8, 1);
        System.out.println("NOT REACHED");
      }
      default -> throw new IllegalArgumentException(args[0]);
    }
  }

  private static void store(ByteBuffer b, int i) {
    b.putInt(64, i);
  }
}
