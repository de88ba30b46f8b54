package org.mpsprot.model;

import java.util.Arrays;
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
 * (usually those of real {@link org.mpsprot.Region}s). Not thread-safe.
 */
public final class ProtModel implements Protections {
  private final long granularity;
  private final TreeMap<Long, ModelRegion> regions = new TreeMap<>(Long::compareUnsigned);

  /** The outcome of {@link #check}: whether the access faults, and the page's recorded mode. */
  public record AccessCheck(boolean faults, AccessSet mode) {}

  private static final class ModelRegion {
    final long base;
    final long limit;
    final byte[] modes;

    ModelRegion(long base, long limit, long granularity) {
      this.base = base;
      this.limit = limit;
      this.modes = new byte[Math.toIntExact((limit - base) / granularity)];
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
    Arrays.fill(r.modes, index(r, base), index(r, limit), (byte) mode.bits());
  }

  @Override
  public AccessSet recordedMode(long address) {
    ModelRegion r = region(address);
    return AccessSet.fromBits(r.modes[index(r, address)]);
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
    ModelRegion r = region(address);
    AccessSet mode = AccessSet.fromBits(r.modes[index(r, address)]);
    AccessSet opened = access == Access.WRITE ? AccessSet.EMPTY : mode.minus(AccessSet.READ);
    r.modes[index(r, address)] = (byte) opened.bits();
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

  private ModelRegion region(long address) {
    return RangeRules.owner("access", regions, x -> x.limit, address, address + 1);
  }

  private int index(ModelRegion r, long address) {
    return (int) ((address - r.base) / granularity);
  }
}
