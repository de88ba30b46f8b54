package org.mpsprot.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.mpsprot.Access;
import org.mpsprot.AccessSet;
import org.mpsprot.Accessors;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.FaultHandler;
import org.mpsprot.HandoffFallback;
import org.mpsprot.FaultCounters;
import org.mpsprot.Prot;
import org.mpsprot.ProtBatch;
import org.mpsprot.Region;
import org.mpsprot.SyncReport;
import org.mpsprot.check.Action;
import org.mpsprot.check.Rand;
import org.mpsprot.check.StateMachine;
import org.mpsprot.model.RegionModel.HandoffDecision;
import org.mpsprot.testing.LibC;
import org.mpsprot.testing.OsMaps;

/**
 * The model-based property of the protection module: random sequences of reserve, close, set,
 * batch, sync, outside tampering, alias writes, policy changes, mutator reads and writes (from
 * JIT-compiled Java through the mutator's view, and in native state through the module's
 * {@link Accessors}), harvests of the dirty and of the touched bits, checked after every step
 * against {@link RegionModel} (region-relative, built before the real region exists): every
 * page's protection as /proc/self/maps reports it equals the model's, the record equals the
 * model's, the alias view holds exactly what was written, the dirty and touched bits and the
 * STEP access log equal the model's; each access faults exactly when the model says and is
 * resolved as it says (UNPROTECT, STEP, HANDOFF with the handler's decision, HANDOFF's fallback).
 *
 * <p>A {@link Bug} makes the model deliberately wrong, so that the tests can show the property
 * catches and shrinks such a bug: ProtSet's limit taken as inclusive, STEP modelled as
 * UNPROTECT, a HANDOFF handler's decision ignored, or a touched harvest that does nothing (what
 * the module did before Region.harvestTouched existed).
 */
final class ProtectionStateMachine implements StateMachine<ProtectionStateMachine.Model, ProtectionStateMachine.Real> {
  static final int MAX_PAGES = 12;

  /** The deliberate bugs of the model (NONE: the faithful model). */
  enum Bug { NONE, LIMIT_INCLUSIVE, STEP_AS_UNPROTECT, HANDOFF_DECISION_IGNORED, TOUCHED_HARVEST_NOOP }

  private final Bug bug;
  /** How many accesses of all runs the model resolved each way (shows what a run exercised). */
  final java.util.EnumMap<RegionModel.Resolution, Long> seen = new java.util.EnumMap<>(RegionModel.Resolution.class);

  ProtectionStateMachine(boolean limitInclusive) {
    this(limitInclusive ? Bug.LIMIT_INCLUSIVE : Bug.NONE);
  }

  ProtectionStateMachine(Bug bug) {
    this.bug = bug;
  }

  /** The model: one region-relative {@link RegionModel} per live region; no addresses. */
  static final class Model {
    final long page = Prot.setup().granularity();
    final List<ModelRegion> regions = new ArrayList<>();
    final Bug bug;
    final java.util.EnumMap<RegionModel.Resolution, Long> seen;
    /** The decision the collector's handler makes for the next handed-off fault. */
    HandoffDecision next = HandoffDecision.step();

    Model(Bug bug, java.util.EnumMap<RegionModel.Resolution, Long> seen) {
      this.bug = bug;
      this.seen = seen;
    }

    void set(int idx, int from, int to, AccessSet mode) {
      ModelRegion r = regions.get(idx);
      int end = bug == Bug.LIMIT_INCLUSIVE && to < r.pages ? to + 1 : to;
      r.model.protect(from * page, (end - from) * page, mode);
    }

    /** Gives region model {@code m} the policy (HANDOFF: the machine's handler, fallback UNPROTECT). */
    void policy(RegionModel m, BarrierPolicy policy) {
      if (policy == BarrierPolicy.HANDOFF) {
        m.setHandoff((offset, access) -> bug == Bug.HANDOFF_DECISION_IGNORED ? HandoffDecision.step() : next,
            HandoffFallback.UNPROTECT);
      } else {
        m.setPolicy(bug == Bug.STEP_AS_UNPROTECT && policy == BarrierPolicy.STEP ? BarrierPolicy.UNPROTECT : policy);
      }
    }

    /** The model's outcome of an access, counted in {@link #seen}. */
    RegionModel.Outcome access(int idx, int offset, Access access, long value, boolean nativeState) {
      RegionModel.Outcome o = regions.get(idx).model.access(offset, access, 8, value, nativeState);
      seen.merge(o.resolution(), 1L, Long::sum);
      return o;
    }
  }

  static final class ModelRegion {
    final int pages;
    final RegionModel model;

    ModelRegion(int pages, long page) {
      this.pages = pages;
      this.model = new RegionModel(page, pages);
    }
  }

  /** The system under test: the real module and the live regions, index-aligned with the model. */
  static final class Real {
    final Prot prot = Prot.setup();
    final List<Region> regions = new ArrayList<>();
    /** Regions other tests left live, which sync checks too. */
    final int others = ((org.mpsprot.core.ProtModule) prot).regions().size();
    /** The decision the handler below makes for the next handed-off fault (set by NativeProbe). */
    volatile HandoffDecision next = HandoffDecision.step();
    /** What the handler did, or the exception it met (checked by NativeProbe). */
    volatile String handled;

    /** The collector's FaultHandler: carries out {@link #next} on the barrier thread. */
    final FaultHandler handler = ctx -> {
      HandoffDecision d = next;
      try {
        if (d.emulate()) {
          handled = "step " + ctx.stepInstruction();
        } else {
          long page = prot.granularity();
          long at = ctx.address() & -page;
          prot.set(at, at + page, d.mode());
          handled = "open " + d.mode();
        }
      } catch (RuntimeException e) {
        handled = "threw " + e;
        throw e;
      }
    };

    void policy(Region r, BarrierPolicy policy) {
      if (policy == BarrierPolicy.HANDOFF) {
        r.setHandoff(handler, HandoffFallback.UNPROTECT);
      } else {
        r.setPolicy(policy);
      }
    }
  }

  private static final BarrierPolicy[] POLICIES = {BarrierPolicy.UNPROTECT, BarrierPolicy.STEP, BarrierPolicy.HANDOFF};

  @Override
  public Model newModel() {
    return new Model(bug, seen);
  }

  @Override
  public Real newSystem() {
    return new Real();
  }

  @Override
  public void closeSystem(Real system) {
    system.regions.forEach(Region::close);
  }

  @Override
  public Action<Model, Real> nextAction(Model model, Rand rand) {
    int n = model.regions.size();
    if (n == 0 || (n < 4 && rand.nextInt(6) == 0)) {
      return new Reserve(rand.nextInt(1, MAX_PAGES + 1), POLICIES[rand.nextInt(POLICIES.length)]);
    }
    int idx = rand.nextInt(n);
    int pages = model.regions.get(idx).pages;
    int from = rand.nextInt(pages);
    int to = rand.nextInt(from + 1, pages + 1);
    AccessSet mode = AccessSet.fromBits(rand.nextInt(4));
    int kind = rand.nextInt(28);
    if (kind >= 20) {
      int offset = rand.nextInt(pages * (int) model.page / 8) * 8;
      Access access = rand.nextBoolean() ? Access.WRITE : Access.READ;
      if (kind < 25) {
        AccessSet open = access == Access.WRITE || rand.nextBoolean() ? AccessSet.EMPTY : AccessSet.WRITE;
        HandoffDecision d = rand.nextBoolean() ? HandoffDecision.step() : HandoffDecision.open(open);
        return new NativeProbe(idx, offset, access, rand.nextLong(1, Long.MAX_VALUE), d);
      } else if (kind < 26) {
        return new HarvestTouched(idx);
      }
      return new SetPolicy(idx, POLICIES[rand.nextInt(POLICIES.length)]);
    }
    if (kind < 9) {
      return new Set(idx, from, to, mode);
    } else if (kind < 11) {
      int from2 = rand.nextInt(pages);
      return new Batch(idx, from, to, mode, from2, rand.nextInt(from2 + 1, pages + 1),
          AccessSet.fromBits(rand.nextInt(4)));
    } else if (kind < 14) {
      return new AliasWrite(idx, rand.nextInt(pages * (int) model.page / 8) * 8, rand.nextLong(1, Long.MAX_VALUE));
    } else if (kind < 16) {
      return rand.nextInt(3) == 0 ? new Tamper(idx, from, rand.nextInt(4))
          : new Probe(idx, rand.nextInt(pages * (int) model.page / 8) * 8,
              rand.nextBoolean() ? Access.WRITE : Access.READ, rand.nextLong(1, Long.MAX_VALUE));
    } else if (kind < 17) {
      return new Harvest(idx);
    } else if (kind < 19) {
      return new Sync();
    }
    return new Close(idx);
  }

  @Override
  public void checkInvariant(Model model, Real real) {
    long page = model.page;
    assertEquals(model.regions.size(), real.regions.size());
    for (int i = 0; i < model.regions.size(); i++) {
      ModelRegion m = model.regions.get(i);
      RegionModel rm = m.model;
      Region r = real.regions.get(i);
      String[] expected = new String[m.pages];
      AccessSet[] expectedModes = new AccessSet[m.pages];
      AccessSet[] recorded = new AccessSet[m.pages];
      String[] aliasRw = new String[m.pages];
      for (int p = 0; p < m.pages; p++) {
        expected[p] = rm.expectedPerms(p * page);
        expectedModes[p] = rm.mode(p * page);
        recorded[p] = r.mode(p * page);
        aliasRw[p] = "rw-";
      }
      assertArrayEquals(expected, OsMaps.perms(r.base(), m.pages, page), "OS protection of region " + i);
      assertArrayEquals(expectedModes, recorded, "record of region " + i);
      assertArrayEquals(aliasRw, OsMaps.perms(r.aliasBase(), m.pages, page), "alias view of region " + i);
      assertEquals(rm.contents(), r.alias(), "contents of region " + i);
      assertEquals(rm.dirtyPages(), r.dirtyPages(), "dirty pages of region " + i);
      assertEquals(rm.touchedPages(), r.touchedPages(), "touched pages of region " + i);
      if (model.bug != Bug.STEP_AS_UNPROTECT) {
        assertEquals(rm.policy(), r.policy(), "policy of region " + i);
      }
      assertEquals(rm.drainLog(r.base()), r.drainLog(), "STEP log of region " + i);
    }
  }

  private static boolean live(Model m, int idx) {
    return idx < m.regions.size();
  }

  private static boolean fits(Model m, int idx, int to) {
    return live(m, idx) && to <= m.regions.get(idx).pages;
  }

  record Reserve(int pages, BarrierPolicy policy) implements Action<Model, Real> {
    @Override
    public void run(Model m, Real s) {
      Region r = s.prot.reserve(pages * m.page);
      s.policy(r, policy);
      s.regions.add(r);
      ModelRegion mr = new ModelRegion(pages, m.page);
      m.policy(mr.model, policy);
      m.regions.add(mr);
    }

    @Override
    public List<Action<Model, Real>> shrinkCandidates() {
      return policy == BarrierPolicy.UNPROTECT ? List.of() : List.of(new Reserve(pages, BarrierPolicy.UNPROTECT));
    }

    @Override
    public String toString() {
      return "reserve(" + pages + " pages, " + policy + ")";
    }
  }

  record SetPolicy(int idx, BarrierPolicy policy) implements Action<Model, Real> {
    @Override
    public boolean precondition(Model m) {
      return live(m, idx);
    }

    @Override
    public void run(Model m, Real s) {
      s.policy(s.regions.get(idx), policy);
      m.policy(m.regions.get(idx).model, policy);
    }

    @Override
    public String toString() {
      return "setPolicy(r" + idx + ", " + policy + ")";
    }
  }

  record Close(int idx) implements Action<Model, Real> {
    @Override
    public boolean precondition(Model m) {
      return live(m, idx);
    }

    @Override
    public void run(Model m, Real s) {
      s.regions.remove(idx).close();
      m.regions.remove(idx);
    }

    @Override
    public String toString() {
      return "close(r" + idx + ")";
    }
  }

  record Set(int idx, int from, int to, AccessSet mode) implements Action<Model, Real> {
    @Override
    public boolean precondition(Model m) {
      return fits(m, idx, to);
    }

    @Override
    public void run(Model m, Real s) {
      long page = m.page;
      Region r = s.regions.get(idx);
      s.prot.set(r.base() + from * page, r.base() + to * page, mode);
      m.set(idx, from, to, mode);
    }

    @Override
    public List<Action<Model, Real>> shrinkCandidates() {
      List<Action<Model, Real>> out = new ArrayList<>();
      if (to - from > 1) {
        out.add(new Set(idx, from, from + 1, mode));
        out.add(new Set(idx, to - 1, to, mode));
      }
      if (idx > 0) {
        out.add(new Set(0, from, to, mode));
      }
      return out;
    }

    @Override
    public String toString() {
      return "set(r" + idx + ", pages [" + from + ", " + to + "), " + mode + ")";
    }
  }

  record Batch(int idx, int from, int to, AccessSet mode, int from2, int to2, AccessSet mode2)
      implements Action<Model, Real> {
    @Override
    public boolean precondition(Model m) {
      return fits(m, idx, Math.max(to, to2));
    }

    @Override
    public void run(Model m, Real s) {
      long page = m.page;
      Region r = s.regions.get(idx);
      ProtBatch b = s.prot.batch();
      b.set(r.base() + from * page, r.base() + to * page, mode);
      b.set(r.base() + from2 * page, r.base() + to2 * page, mode2);
      int calls = b.apply();
      assertTrue(calls >= 1 && calls <= 3, "a batch of two requests makes 1 to 3 calls, made " + calls);
      m.set(idx, from, to, mode);
      m.set(idx, from2, to2, mode2);
    }

    @Override
    public String toString() {
      return "batch(r" + idx + ": [" + from + ", " + to + ") " + mode + "; [" + from2 + ", " + to2 + ") " + mode2 + ")";
    }
  }

  record AliasWrite(int idx, int offset, long value) implements Action<Model, Real> {
    @Override
    public boolean precondition(Model m) {
      return live(m, idx) && offset + 8 <= m.regions.get(idx).model.size();
    }

    @Override
    public void run(Model m, Real s) {
      s.regions.get(idx).alias().putLong(offset, value);
      m.regions.get(idx).model.aliasWrite(offset, 8, value);
    }

    @Override
    public String toString() {
      return "aliasWrite(r" + idx + ", +" + offset + ", " + value + ")";
    }
  }

  /** Changes one page's protection behind the module's back; sync must find and repair it. */
  record Tamper(int idx, int page, int osProt) implements Action<Model, Real> {
    @Override
    public boolean precondition(Model m) {
      return fits(m, idx, page + 1);
    }

    @Override
    public void run(Model m, Real s) {
      long size = m.page;
      Region r = s.regions.get(idx);
      long address = r.base() + page * size;
      String before = OsMaps.perms(address);
      int prot = osProt == 3 ? LibC.PROT_READ | LibC.PROT_WRITE : osProt == 1 ? LibC.PROT_READ : LibC.PROT_NONE;
      assertEquals(0, LibC.mprotect(address, size, prot));
      String now = OsMaps.perms(address);
      SyncReport report = s.prot.sync();
      if (now.equals(before)) {
        assertTrue(report.clean(), report.toString());
      } else {
        assertEquals(1, report.differences().size(), report.toString());
        SyncReport.Difference d = report.differences().get(0);
        assertEquals(address, d.base());
        assertEquals(address + size, d.limit());
        assertEquals(before, d.expected());
        assertEquals(now, d.actual());
        assertTrue(d.repaired(), report.toString());
      }
    }

    @Override
    public String toString() {
      return "tamper(r" + idx + ", page " + page + ", prot " + osProt + ") then sync";
    }
  }

  /**
   * A read or write through the mutator's view (JIT-compiled, so in Java state): it faults
   * exactly when the model says, with the model's access kind, and is resolved as the model
   * says (UNPROTECT, or a HANDOFF region's fallback UNPROTECT). Not in STEP regions: whether
   * the JIT's instruction can be stepped there depends on the compiler, not on the model.
   */
  record Probe(int idx, int offset, Access access, long value) implements Action<Model, Real> {
    @Override
    public boolean precondition(Model m) {
      return live(m, idx) && offset + 8 <= m.regions.get(idx).model.size()
          && m.regions.get(idx).model.policy() != BarrierPolicy.STEP;
    }

    @Override
    public void run(Model m, Real s) {
      FaultCounters before = s.prot.counters();
      ByteBuffer view = s.regions.get(idx).mutatorView();
      long got = value;
      if (access == Access.WRITE) {
        view.putLong(offset, value);
      } else {
        got = view.getLong(offset);
      }
      FaultCounters d = s.prot.counters().minus(before);
      RegionModel.Outcome expected = m.access(idx, offset, access, value, false);
      assertEquals(expected.value(), got, "value of " + this);
      checkFault(this, expected, d, access);
    }

    @Override
    public String toString() {
      return "probe(r" + idx + ", +" + offset + ", " + access + ")";
    }
  }

  /** The real counters agree with the model's outcome of one access. */
  static void checkFault(Object action, RegionModel.Outcome expected, FaultCounters d, Access access) {
    long faults = d.readFaults() + d.writeFaults();
    assertEquals(expected.faulted() ? 1 : 0, faults, "faults of " + action + ": expected " + expected + ", " + d);
    if (expected.faulted()) {
      assertEquals(1, access == Access.WRITE ? d.writeFaults() : d.readFaults(), "the access kind: " + d);
    }
    assertEquals(expected.resolution() == RegionModel.Resolution.UNPROTECTED ? 1 : 0, d.unprotected(),
        "unprotected by " + action + ": expected " + expected + ", " + d);
    assertEquals(expected.resolution() == RegionModel.Resolution.STEPPED ? 1 : 0, d.stepped(),
        "stepped by " + action + ": expected " + expected + ", " + d);
    assertEquals(expected.resolution() == RegionModel.Resolution.HANDED_OFF ? 1 : 0, d.handoffs(),
        "handed off by " + action + ": expected " + expected + ", " + d);
  }

  /**
   * A read or write in native state, through the module's accessors: STEP emulates and logs it,
   * HANDOFF parks it and the handler carries out {@code decision} (step it, or open the page).
   */
  record NativeProbe(int idx, int offset, Access access, long value, HandoffDecision decision)
      implements Action<Model, Real> {
    @Override
    public boolean precondition(Model m) {
      return live(m, idx) && offset + 8 <= m.regions.get(idx).model.size();
    }

    @Override
    public void run(Model m, Real s) {
      long address = s.regions.get(idx).base() + offset;
      m.next = decision;
      s.next = decision;
      s.handled = null;
      FaultCounters before = s.prot.counters();
      long got = value;
      if (access == Access.WRITE) {
        Accessors.putLong(address, value);
      } else {
        got = Accessors.getLong(address);
      }
      FaultCounters d = s.prot.counters().minus(before);
      RegionModel.Outcome expected = m.access(idx, offset, access, value, true);
      assertEquals(expected.value(), got, "value of " + this);
      if (expected.resolution() == RegionModel.Resolution.HANDED_OFF) {
        assertEquals(decision.emulate() ? "step OK" : "open " + decision.mode(), s.handled, "the handler");
      }
      checkFault(this, expected, d, access);
    }

    @Override
    public List<Action<Model, Real>> shrinkCandidates() {
      return decision.emulate() ? List.of()
          : List.of(new NativeProbe(idx, offset, access, value, HandoffDecision.step()));
    }

    @Override
    public String toString() {
      return "nativeProbe(r" + idx + ", +" + offset + ", " + access + ", handler: " + decision + ")";
    }
  }

  /** Harvest: exactly the pages the model saw written are reported and made read-only. */
  record Harvest(int idx) implements Action<Model, Real> {
    @Override
    public boolean precondition(Model m) {
      return live(m, idx);
    }

    @Override
    public void run(Model m, Real s) {
      java.util.BitSet reported = s.regions.get(idx).harvest(AccessSet.WRITE);
      assertEquals(m.regions.get(idx).model.harvest(AccessSet.WRITE), reported, "pages reported by the harvest");
    }

    @Override
    public String toString() {
      return "harvest(r" + idx + ")";
    }
  }

  /** The touched harvest: exactly the pages the model saw read are reported and made no-access. */
  record HarvestTouched(int idx) implements Action<Model, Real> {
    @Override
    public boolean precondition(Model m) {
      return live(m, idx);
    }

    @Override
    public void run(Model m, Real s) {
      java.util.BitSet reported = s.regions.get(idx).harvestTouched(AccessSet.ALL);
      java.util.BitSet expected = m.bug == Bug.TOUCHED_HARVEST_NOOP ? new java.util.BitSet()
          : m.regions.get(idx).model.harvestTouched(AccessSet.ALL);
      assertEquals(expected, reported,
          "pages reported by the touched harvest");
    }

    @Override
    public String toString() {
      return "harvestTouched(r" + idx + ")";
    }
  }

  record Sync() implements Action<Model, Real> {
    @Override
    public void run(Model m, Real s) {
      SyncReport report = s.prot.sync();
      assertTrue(report.clean(), report.toString());
      assertEquals(m.regions.size() + s.others, report.regionsChecked());
    }

    @Override
    public String toString() {
      return "sync()";
    }
  }
}
