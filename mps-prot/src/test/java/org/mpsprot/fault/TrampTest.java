package org.mpsprot.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.mpsprot.AccessSet;
import org.mpsprot.Accessors;
import org.mpsprot.HandoffFallback;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/** docs/design/prot.md .if.tramp: the fault path reads the tramp registration. */
class TrampTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();

  @Test
  void aFaultInsideTrampIsFromARegisteredMutatorAndOneOutsideIsNot() throws Exception {
    try (Region r = prot.reserve(2 * page)) {
      List<Boolean> registered = new CopyOnWriteArrayList<>();
      List<String> described = new CopyOnWriteArrayList<>();
      r.setHandoff(ctx -> {
        registered.add(ctx.registeredMutator());
        described.add(ctx.toString());
        ctx.region().protectAll(AccessSet.EMPTY);
      }, HandoffFallback.FAIL_FAST);
      r.protectAll(AccessSet.WRITE);
      Accessors.putLong(r.base(), 1); // outside tramp
      r.protectAll(AccessSet.WRITE);
      long v = prot.tramp(() -> {
        assertTrue(prot.isMutatorThread());
        Accessors.putLong(r.base() + 8, 2); // inside tramp
        return Accessors.getLong(r.base() + 8);
      });
      assertEquals(2, v);
      assertFalse(prot.isMutatorThread());
      r.protectAll(AccessSet.ALL);
      prot.tramp(() -> prot.tramp(() -> Accessors.getLong(r.base()))); // nested
      r.protectAll(AccessSet.ALL);
      assertEquals(1, Accessors.getLong(r.base())); // the registration ended
      assertEquals(List.of(false, true, true, false), registered);
      assertTrue(described.get(1).contains("inside Prot.tramp"), described.get(1));
      assertFalse(described.get(0).contains("tramp"), described.get(0));
    }
  }
}
