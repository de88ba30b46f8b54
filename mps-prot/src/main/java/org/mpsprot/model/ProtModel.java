package org.mpsprot.model;

import java.util.Objects;
import java.util.TreeMap;
import org.mpsprot.Access;
import org.mpsprot.AccessSet;
import org.mpsprot.ProtRangeException;
import org.mpsprot.Protections;

/**
 * A pure-Java reference model of the protection module's semantics (.model): a page table of
 * recorded modes per region, the same request rules ({@link RangeRules}), and a checked access
 * that says whether a read or a write would fault and under which mode. No native code: it runs
 * on any OS, so a collector's own tests can use it as an oracle, as the property tests here do.
 *
 * <p>Regions are declared with {@link #addRegion(long, long)} at addresses the caller chooses
 * (usually those of real {@link org.mpsprot.Region}s). Each is a {@link RegionModel}
 * ({@link #region(long)}), which also models the barrier policies, the dirty and touched bits,
 * the harvests and the STEP log in region-relative terms; a harness that builds its model before
 * the real regions exist uses {@link RegionModel} directly. Not thread-safe.
 */
public final class ProtModel implements Protections {
  private final long granularity;
  private final TreeMap<Long, ModelRegion> regions = new TreeMap<>(Long::compareUnsigned);

  /** The outcome of {@link #check}: whether the access faults, and the page's recorded mode. */
  public record AccessCheck(boolean faults, AccessSet mode) {}

  private static final class ModelRegion {
    final long base;
    final long limit;
    final RegionModel model;

    ModelRegion(long base, long limit, long granularity) {
      this.base = base;
      this.limit = limit;
      this.model = new RegionModel(granularity, (limit - base) / granularity);
    }
  }

  /** A model with the given granularity (a power of two). */
  public ProtModel(long granularity) {
    if (granularity <= 0 || Long.bitCount(granularity) != 1) {
      throw new IllegalArgumentException("granularity " + granularity + " is not a power of two");
    }
    this.granularity = granularity;
  }

  @Override
  public long granularity() {
    return granularity;
  }

  /** Declares a live region {@code [base, base + size)}, all pages read-write. */
  public void addRegion(long base, long size) {
    long limit = base + RangeRules.roundUpSize(size, granularity);
    RangeRules.checkBounds("addRegion", base, limit, granularity);
    var below = regions.floorEntry(limit - 1);
    if (below != null && Long.compareUnsigned(below.getValue().limit, base) > 0) {
      throw new ProtRangeException(String.format(
          "addRegion [0x%x, 0x%x) overlaps the region at 0x%x", base, limit, below.getKey()));
    }
    regions.put(base, new ModelRegion(base, limit, granularity));
  }

  /**
   * The region-relative model of the region based at {@code base} (its offsets are relative to
   * {@code base}); changes through either are seen by both.
   *
   * @throws ProtRangeException if no region is based at {@code base}
   */
  public RegionModel region(long base) {
    ModelRegion r = regions.get(base);
    if (r == null) {
      throw new ProtRangeException(String.format("region: no region at 0x%x", base));
    }
    return r.model;
  }

  /** Forgets the region based at {@code base}, as closing it does. */
  public void removeRegion(long base) {
    if (regions.remove(base) == null) {
      throw new ProtRangeException(String.format("removeRegion: no region at 0x%x", base));
    }
  }

  @Override
  public void set(long base, long limit, AccessSet mode) {
    Objects.requireNonNull(mode, "mode");
    RangeRules.checkBounds("ProtSet", base, limit, granularity);
    ModelRegion r = RangeRules.owner("ProtSet", regions, x -> x.limit, base, limit);
    r.model.protect(base - r.base, limit - base, mode);
  }

  @Override
  public AccessSet recordedMode(long address) {
    ModelRegion r = owner(address);
    return r.model.mode(address - r.base);
  }

  /** Whether an access of the given kind at {@code address} would fault, and the mode. */
  public AccessCheck check(long address, Access access) {
    AccessSet mode = recordedMode(address);
    return new AccessCheck(mode.forbids(access), mode);
  }

  /**
   * The unprotect-and-record policy's resolution of a fault (docs/design/fault.md
   * .policy.unprotect): the page gets the access it needed (a write leaves it {@link
   * AccessSet#EMPTY}; a read removes READ from its mode) and the new mode is returned.
   */
  public AccessSet unprotect(long address, Access access) {
    ModelRegion r = owner(address);
    AccessSet mode = r.model.mode(address - r.base);
    AccessSet opened = access == Access.WRITE ? AccessSet.EMPTY : mode.minus(AccessSet.READ);
    long page = (address - r.base) & -granularity;
    r.model.protect(page, granularity, opened);
    return opened;
  }

  /** The protection the OS should report for the page: "rw-", "r--" or "---". */
  public String expectedPerms(long address) {
    return perms(recordedMode(address));
  }

  /** The OS protection ("rw-", "r--", "---") that a mode becomes; never executable. */
  public static String perms(AccessSet mode) {
    AccessSet effective = mode.effective();
    return effective.contains(Access.READ) ? "---" : effective.contains(Access.WRITE) ? "r--" : "rw-";
  }

  private ModelRegion owner(long address) {
    return RangeRules.owner("access", regions, x -> x.limit, address, address + 1);
  }
}
