package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.HandoffFallback;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.RegionClosedException;

/**
 * Region's contract after close() (its javadoc, issue 10 item 19): the geometry stays readable
 * and unchanged, isClosed/close/toString work, and every other method throws
 * RegionClosedException.
 */
class RegionClosedContractTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();

  @Test
  void theGeometryStaysReadableAfterClose() {
    Region r = prot.reserve(4 * page);
    long base = r.base();
    long limit = r.limit();
    long alias = r.aliasBase();
    String name = r.toString();
    r.close();
    assertTrue(r.isClosed());
    assertEquals(base, r.base());
    assertEquals(limit, r.limit());
    assertEquals(4 * page, r.size());
    assertEquals(4, r.pages());
    assertEquals(alias, r.aliasBase());
    assertEquals(name, r.toString());
    r.close(); // idempotent
  }

  @Test
  void everyOtherMethodThrowsRegionClosedException() {
    Region r = prot.reserve(4 * page);
    r.close();
    Map<String, Executable> calls = new LinkedHashMap<>();
    calls.put("protect", () -> r.protect(0, page, AccessSet.WRITE));
    calls.put("protectAll", () -> r.protectAll(AccessSet.WRITE));
    calls.put("mode", () -> r.mode(0));
    calls.put("alias", r::alias);
    calls.put("mutatorView", r::mutatorView);
    calls.put("alias(offset, length)", () -> r.alias(0, 8));
    calls.put("mutatorView(offset, length)", () -> r.mutatorView(0, 8));
    calls.put("setPolicy", () -> r.setPolicy(BarrierPolicy.UNPROTECT));
    calls.put("setHandoff", () -> r.setHandoff(ctx -> { }, HandoffFallback.FAIL_FAST));
    calls.put("policy", r::policy);
    calls.put("harvest", () -> r.harvest(AccessSet.WRITE));
    calls.put("harvestTouched", () -> r.harvestTouched(AccessSet.READ));
    calls.put("dirtyPages", r::dirtyPages);
    calls.put("touchedPages", r::touchedPages);
    calls.put("describe", r::describe);
    calls.put("drainLog", r::drainLog);
    for (Map.Entry<String, Executable> c : calls.entrySet()) {
      RegionClosedException e = assertThrows(RegionClosedException.class, c.getValue(), c.getKey());
      assertTrue(e.getMessage().contains("closed"), c.getKey() + ": " + e.getMessage());
    }
    // The Region interface has exactly these methods besides the geometry, isClosed and close:
    // a new method must be added to one list or the other.
    long declared = java.util.Arrays.stream(Region.class.getDeclaredMethods())
        .filter(m -> !m.isSynthetic() && !java.lang.reflect.Modifier.isStatic(m.getModifiers())).count();
    assertEquals(calls.size() + 5 + 2, declared, "Region's methods: " + java.util.Arrays.toString(Region.class.getDeclaredMethods()));
  }
}
