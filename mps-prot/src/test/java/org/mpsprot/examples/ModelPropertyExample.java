package org.mpsprot.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.mpsprot.Access;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.mpsprot.check.Action;
import org.mpsprot.check.StateMachine;
import org.mpsprot.check.StatefulProperty;
import org.mpsprot.model.RegionModel;

/**
 * docs/testing.md's worked example: a user's own stateful property of their protection protocol
 * (an UNPROTECT write barrier over a read-only old generation whose harvest re-protects with
 * {@code reprotect}), checked against the reference model {@link RegionModel}. The model is built
 * before the region exists (it is region-relative). {@code ModelPropertyExampleTest} runs it, and
 * shows that the broken protocol (a harvest that re-protects with {@code EMPTY}) is caught and
 * shrunk. The lines between the doc markers are the ones docs/testing.md shows
 * ({@code ModelPropertyExampleTest} checks that they are the same).
 */
public final class ModelPropertyExample {
  static final int PAGES = 8;

  private ModelPropertyExample() {}

  /** The protocol's start, the same on the model and on the real region. */
  static RegionModel start(RegionModel m) {
    m.setPolicy(BarrierPolicy.UNPROTECT);
    m.protectAll(AccessSet.WRITE);
    return m;
  }

  static Region start(Region r) {
    r.setPolicy(BarrierPolicy.UNPROTECT);
    r.protectAll(AccessSet.WRITE);
    return r;
  }

  // doc:begin
  record Write(int page) implements Action<RegionModel, Region> {   // the mutator writes a page
    public void run(RegionModel m, Region r) {
      r.mutatorView().putLong((int) (page * m.granularity()), page);
      m.access(page * m.granularity(), Access.WRITE, 8, page, false);
    }
  }

  record Harvest(AccessSet reprotect) implements Action<RegionModel, Region> { // the collector
    public void run(RegionModel m, Region r) {
      assertEquals(m.harvest(AccessSet.WRITE), r.harvest(reprotect), "pages reported");
    }
  }

  static StatefulProperty<RegionModel, Region> property(AccessSet reprotect) {
    long page = Prot.setup().granularity();
    return StatefulProperty.of("write barrier keeps every write", StateMachine.of(
        () -> start(new RegionModel(page, PAGES)),            // the model: before any region
        () -> start(Prot.setup().reserve(PAGES * page)),      // the real thing
        Region::close,
        (m, rand) -> rand.nextInt(4) == 0 ? new Harvest(reprotect) : new Write(rand.nextInt(PAGES))));
  }
  // doc:end
}
