package org.mpsprot.fault;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.mpsprot.AccessSet;
import org.mpsprot.Accessors;
import org.mpsprot.HandoffFallback;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/**
 * Run in a child JVM by {@link StepTwiceTest} (a second step that is not refused moves the
 * mutator's pc past an instruction it never ran, which kills the JVM): a FaultHandler asks to
 * step the same fault twice, and reads canStepInstruction() before and after.
 */
public final class StepTwiceChild {
  private StepTwiceChild() {}

  public static void main(String[] args) {
    Prot prot = Prot.setup();
    Region r = prot.reserve(prot.granularity());
    List<String> seen = new CopyOnWriteArrayList<>();
    r.setHandoff(ctx -> {
      boolean before = ctx.canStepInstruction();
      String first = String.valueOf(ctx.stepInstruction());
      boolean after = ctx.canStepInstruction();
      String second = String.valueOf(ctx.stepInstruction());
      seen.add(before + " " + first + " " + after + " " + second);
    }, HandoffFallback.FAIL_FAST);
    r.protectAll(AccessSet.ALL);
    r.alias().putLong(16, 99);
    Accessors.putInt(r.base() + 8, 1234);
    long loaded = Accessors.getLong(r.base() + 16);
    System.out.println("SEEN " + String.join(",", seen));
    System.out.println("VALUES " + r.alias().getInt(8) + " " + loaded);
    System.out.println("PERMS " + org.mpsprot.testing.OsMaps.perms(r.base()));
    r.close();
    System.out.println("DONE ok");
  }
}
