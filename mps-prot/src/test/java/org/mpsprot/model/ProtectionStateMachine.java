package org.mpsprot.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.mpsprot.Access;
import org.mpsprot.AccessSet;
import org.mpsprot.FaultCounters;
import org.mpsprot.Prot;
import org.mpsprot.ProtBatch;
import org.mpsprot.Region;
import org.mpsprot.SyncReport;
import org.mpsprot.check.Action;
import org.mpsprot.check.Rand;
import org.mpsprot.check.StateMachine;
import org.mpsprot.testing.LibC;
import org.mpsprot.testing.OsMaps;

/**
 * The model-based property of the protection module: random sequences of reserve, close, set,
 * batch, sync, outside tampering and alias writes, checked after every step against
 * {@link ProtModel}: every page's protection as /proc/self/maps reports it equals the model's,
 * the record equals the model's, and the alias view holds exactly what was written.
 *
 * <p>{@code limitInclusive} makes the model deliberately wrong (it treats ProtSet's limit as
 * inclusive), so that the harness can show it catches and shrinks such a bug.
 */
final class ProtectionStateMachine implements StateMachine<ProtectionStateMachine.Model, ProtectionStateMachine.Real> {
  static final int MAX_PAGES = 12;
  private final boolean limitInclusive;

  ProtectionStateMachine(boolean limitInclusive) {
    this.limitInclusive = limitInclusive;
  }

  /** The model: the reference model plus, per live region, its page count and its bytes. */
  static final class Model {
    final ProtModel prot = new ProtModel(Prot.setup().granularity());
    final List<ModelRegion> regions = new ArrayList<>();
    final boolean limitInclusive;

    Model(boolean limitInclusive) {
      this.limitInclusive = limitInclusive;
    }

    void set(int idx, int from, int to, AccessSet mode) {
      ModelRegion r = regions.get(idx);
      long page = prot.granularity();
      int end = limitInclusive && to < r.pages ? to + 1 : to;
      prot.set(r.base + from * page, r.base + end * page, mode);
    }
  }

  static final class ModelRegion {
    final long base;
    final int pages;
    final byte[] bytes;
    final java.util.BitSet dirty = new java.util.BitSet();

    ModelRegion(long base, int pages, long page) {
      this.base = base;
      this.pages = pages;
      this.bytes = new byte[(int) (pages * page)];
    }
  }

  /** The system under test: the real module and the live regions, index-aligned with the model. */
  static final class Real {
    final Prot prot = Prot.setup();
    final List<Region> regions = new ArrayList<>();
    /** Regions other tests left live, which sync checks too. */
    final int others = ((org.mpsprot.core.ProtModule) prot).regions().size();
  }

  @Override
  public Model newModel() {
    return new Model(limitInclusive);
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
      return new Reserve(rand.nextInt(1, MAX_PAGES + 1));
    }
    int idx = rand.nextInt(n);
    int pages = model.regions.get(idx).pages;
    int from = rand.nextInt(pages);
    int to = rand.nextInt(from + 1, pages + 1);
    AccessSet mode = AccessSet.fromBits(rand.nextInt(4));
    int kind = rand.nextInt(20);
    if (kind < 9) {
      return new Set(idx, from, to, mode);
    } else if (kind < 11) {
      int from2 = rand.nextInt(pages);
      return new Batch(idx, from, to, mode, from2, rand.nextInt(from2 + 1, pages + 1),
          AccessSet.fromBits(rand.nextInt(4)));
    } else if (kind < 14) {
      return new AliasWrite(idx, rand.nextInt(pages * (int) model.prot.granularity() / 8) * 8, rand.nextLong(1, Long.MAX_VALUE));
    } else if (kind < 16) {
      return rand.nextInt(3) == 0 ? new Tamper(idx, from, rand.nextInt(4))
          : new Probe(idx, rand.nextInt(pages * (int) model.prot.granularity() / 8) * 8,
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
    long page = model.prot.granularity();
    assertEquals(model.regions.size(), real.regions.size());
    for (int i = 0; i < model.regions.size(); i++) {
      ModelRegion m = model.regions.get(i);
      Region r = real.regions.get(i);
      String[] expected = new String[m.pages];
      AccessSet[] expectedModes = new AccessSet[m.pages];
      AccessSet[] recorded = new AccessSet[m.pages];
      String[] aliasRw = new String[m.pages];
      for (int p = 0; p < m.pages; p++) {
        expected[p] = model.prot.expectedPerms(m.base + p * page);
        expectedModes[p] = model.prot.recordedMode(m.base + p * page);
        recorded[p] = r.mode(p * page);
        aliasRw[p] = "rw-";
      }
      assertArrayEquals(expected, OsMaps.perms(r.base(), m.pages, page), "OS protection of region " + i);
      assertArrayEquals(expectedModes, recorded, "record of region " + i);
      assertArrayEquals(aliasRw, OsMaps.perms(r.aliasBase(), m.pages, page), "alias view of region " + i);
      assertEquals(ByteBuffer.wrap(m.bytes), r.alias(), "contents of region " + i);
      assertEquals(m.dirty, r.dirtyPages(), "dirty pages of region " + i);
    }
  }

  private static boolean live(Model m, int idx) {
    return idx < m.regions.size();
  }

  private static boolean fits(Model m, int idx, int to) {
    return live(m, idx) && to <= m.regions.get(idx).pages;
  }

  record Reserve(int pages) implements Action<Model, Real> {
    @Override
    public void run(Model m, Real s) {
      long page = m.prot.granularity();
      Region r = s.prot.reserve(pages * page);
      r.setPolicy(org.mpsprot.BarrierPolicy.UNPROTECT);
      s.regions.add(r);
      m.prot.addRegion(r.base(), r.size());
      m.regions.add(new ModelRegion(r.base(), pages, page));
    }

    @Override
    public String toString() {
      return "reserve(" + pages + " pages)";
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
      m.prot.removeRegion(m.regions.remove(idx).base);
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
      long page = m.prot.granularity();
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
      long page = m.prot.granularity();
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
      return live(m, idx) && offset + 8 <= m.regions.get(idx).bytes.length;
    }

    @Override
    public void run(Model m, Real s) {
      s.regions.get(idx).alias().putLong(offset, value);
      ByteBuffer.wrap(m.regions.get(idx).bytes).order(java.nio.ByteOrder.nativeOrder()).putLong(offset, value);
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
      long size = m.prot.granularity();
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
   * exactly when the model says, with the model's access kind, and the unprotect-and-record
   * policy opens the page and records it as the model does.
   */
  record Probe(int idx, int offset, Access access, long value) implements Action<Model, Real> {
    @Override
    public boolean precondition(Model m) {
      return live(m, idx) && offset + 8 <= m.regions.get(idx).bytes.length;
    }

    @Override
    public void run(Model m, Real s) {
      ModelRegion mr = m.regions.get(idx);
      long address = mr.base + offset;
      ProtModel.AccessCheck expected = m.prot.check(address, access);
      FaultCounters before = s.prot.counters();
      ByteBuffer view = s.regions.get(idx).mutatorView();
      ByteBuffer shadow = ByteBuffer.wrap(mr.bytes).order(java.nio.ByteOrder.nativeOrder());
      if (access == Access.WRITE) {
        view.putLong(offset, value);
        shadow.putLong(offset, value);
      } else {
        assertEquals(shadow.getLong(offset), view.getLong(offset), "value read through the mutator's view");
      }
      FaultCounters d = s.prot.counters().minus(before);
      long faults = d.readFaults() + d.writeFaults();
      assertEquals(expected.faults() ? 1 : 0, faults, "faults of " + this + " on a page with " + expected.mode() + ": " + d);
      if (expected.faults()) {
        assertEquals(1, access == Access.WRITE ? d.writeFaults() : d.readFaults(), "the access kind: " + d);
        m.prot.unprotect(address, access);
        if (access == Access.WRITE) {
          mr.dirty.set((int) (offset / m.prot.granularity()));
        }
      }
    }

    @Override
    public String toString() {
      return "probe(r" + idx + ", +" + offset + ", " + access + ")";
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
      ModelRegion mr = m.regions.get(idx);
      java.util.BitSet reported = s.regions.get(idx).harvest(AccessSet.WRITE);
      assertEquals(mr.dirty, reported, "pages reported by the harvest");
      long page = m.prot.granularity();
      for (int p = reported.nextSetBit(0); p >= 0; p = reported.nextSetBit(p + 1)) {
        m.prot.set(mr.base + p * page, mr.base + (p + 1) * page, AccessSet.WRITE);
      }
      mr.dirty.clear();
    }

    @Override
    public String toString() {
      return "harvest(r" + idx + ")";
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
