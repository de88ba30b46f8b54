package org.mpsprot.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Objects;
import java.util.function.BiFunction;
import org.mpsprot.Access;
import org.mpsprot.AccessLogEntry;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.HandoffFallback;
import org.mpsprot.ProtRangeException;
import org.mpsprot.Region;

/**
 * The reference model of one region in region-relative terms: offsets and page
 * indexes, no addresses, so a property harness can build it before the real region exists
 * ({@code new RegionModel(granularity, pages)}) or from a live region's geometry
 * ({@link #of(Region)}); docs/design/prot.md .model.region. It models what a collector sees of a
 * {@link Region}:
 * <ul>
 *   <li>each page's recorded {@link AccessSet} ({@link #protect}, {@link #mode});</li>
 *   <li>the barrier policy and what a mutator access does under it ({@link #access}): whether
 *       it faults and how the fault is resolved (UNPROTECT opens the page and sets its dirty or
 *       touched bit; STEP emulates it, leaves the protection and logs it; HANDOFF parks a
 *       native-state access for the {@link HandoffDecision} of the collector's handler, and
 *       gives any other access the region's {@link HandoffFallback});</li>
 *   <li>the dirty and touched bits and their harvests ({@link #harvest},
 *       {@link #harvestTouched});</li>
 *   <li>the STEP access log ({@link #drainLog()});</li>
 *   <li>the contents, as the alias view would show them (lazily, one array per page written).</li>
 * </ul>
 * Its rules are those of docs/design/fault.md .policy and .sol.harvest; where the real module
 * may legitimately do otherwise (a STEP fault whose instruction cannot be stepped, or whose log
 * is full, is unprotected instead) the model predicts the common case, and a test that compares
 * must use accesses the module can step (its {@link org.mpsprot.Accessors}).
 *
 * <p>Not thread-safe. Offsets must lie in {@code [0, size())}; accesses of 1, 2, 4 or 8 bytes
 * must not cross a page; values are in the platform's byte order.
 */
public final class RegionModel {
  /** How a fault was resolved (or that the access did not fault). */
  public enum Resolution {
    /** The access did not fault. */
    NONE,
    /** UNPROTECT (or a HANDOFF fallback of UNPROTECT): the page was opened and marked. */
    UNPROTECTED,
    /** STEP: emulated through the alias view and logged; the protection is unchanged. */
    STEPPED,
    /** HANDOFF: parked and resolved by the handler's {@link HandoffDecision}. */
    HANDED_OFF,
    /** The process fails fast (no policy, or a HANDOFF fallback of FAIL_FAST). */
    FAIL_FAST
  }

  /** What the collector's handler does with a handed-off fault. */
  public record HandoffDecision(boolean emulate, AccessSet mode) {
    /** Lowers the faulting page's protection to {@code mode} (which must allow the access). */
    public static HandoffDecision open(AccessSet mode) {
      return new HandoffDecision(false, Objects.requireNonNull(mode, "mode"));
    }

    /** Emulates the access ({@code MutatorFaultContext.stepInstruction()}); the page stays as it is. */
    public static HandoffDecision step() {
      return new HandoffDecision(true, null);
    }

    @Override
    public String toString() {
      return emulate ? "step" : "open(" + mode + ")";
    }
  }

  /**
   * The model's prediction of one access: whether it faulted, how it was resolved, the page's
   * mode afterwards, and the value (read, or written).
   */
  public record Outcome(boolean faulted, Resolution resolution, AccessSet modeAfter, long value) {}

  /** An entry of the STEP log, region-relative ({@link #at} makes it an {@link AccessLogEntry}). */
  public record LogEntry(long offset, Access access, int size, long before, long after) {
    /** The entry as the region based at {@code base} reports it. */
    public AccessLogEntry at(long base) {
      return new AccessLogEntry(base + offset, access, size, before, after);
    }
  }

  private final long granularity;
  private final long pages;
  private final byte[] modes;
  private final BitSet dirty = new BitSet();
  private final BitSet touched = new BitSet();
  private final List<LogEntry> log = new ArrayList<>();
  private final byte[][] contents;
  private BarrierPolicy policy = BarrierPolicy.NONE;
  private HandoffFallback fallback = HandoffFallback.FAIL_FAST;
  private BiFunction<Long, Access, HandoffDecision> handler;

  /**
   * A region of {@code pages} pages of {@code granularity} bytes, all read-write, policy
   * {@link BarrierPolicy#NONE}, zero-filled, as {@code Prot.reserve} makes it.
   *
   * @throws IllegalArgumentException if the granularity is not a power of two or pages is not in
   *     {@code [1, Integer.MAX_VALUE]}
   */
  public RegionModel(long granularity, long pages) {
    if (granularity <= 0 || Long.bitCount(granularity) != 1) {
      throw new IllegalArgumentException("granularity " + granularity + " is not a power of two");
    }
    if (pages < 1 || pages > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("pages " + pages + " is not in [1, " + Integer.MAX_VALUE + "]");
    }
    this.granularity = granularity;
    this.pages = pages;
    this.modes = new byte[(int) pages];
    this.contents = new byte[(int) pages][];
  }

  /** A model with the geometry of {@code region} (its granularity and pages; nothing else is copied). */
  public static RegionModel of(Region region) {
    return new RegionModel(region.size() / region.pages(), region.pages());
  }

  /** The page size the model was made with. */
  public long granularity() {
    return granularity;
  }

  /** The number of pages. */
  public long pages() {
    return pages;
  }

  /** {@code pages() * granularity()}. */
  public long size() {
    return pages * granularity;
  }

  /** Region.protect: pages {@code [offset, offset + length)} get {@code mode}. */
  public void protect(long offset, long length, AccessSet mode) {
    Objects.requireNonNull(mode, "mode");
    if (offset < 0 || length < 0 || offset % granularity != 0 || length % granularity != 0
        || offset + length > size()) {
      throw new ProtRangeException(String.format("protect(offset %d, length %d): not a whole number of pages"
          + " inside [0, %d)", offset, length, size()));
    }
    for (long p = offset / granularity; p < (offset + length) / granularity; p++) {
      modes[(int) p] = (byte) mode.bits();
    }
  }

  /** Region.protectAll. */
  public void protectAll(AccessSet mode) {
    protect(0, size(), mode);
  }

  /** The recorded mode of the page holding {@code offset}. */
  public AccessSet mode(long offset) {
    return AccessSet.fromBits(modes[page(offset)]);
  }

  /** The protection the OS should report for the page holding {@code offset} ("rw-", "r--", "---"). */
  public String expectedPerms(long offset) {
    return ProtModel.perms(mode(offset));
  }

  /** Region.setPolicy (not HANDOFF: see {@link #setHandoff}). */
  public void setPolicy(BarrierPolicy policy) {
    if (Objects.requireNonNull(policy, "policy") == BarrierPolicy.HANDOFF) {
      throw new IllegalArgumentException("HANDOFF needs a handler: use setHandoff");
    }
    this.policy = policy;
    this.fallback = HandoffFallback.FAIL_FAST;
    this.handler = null;
  }

  /**
   * Region.setHandoff: {@code handler} maps a handed-off fault (its offset, its access) to the
   * decision of the collector's {@code FaultHandler}.
   */
  public void setHandoff(BiFunction<Long, Access, HandoffDecision> handler, HandoffFallback fallback) {
    this.handler = Objects.requireNonNull(handler, "handler");
    this.fallback = Objects.requireNonNull(fallback, "fallback");
    this.policy = BarrierPolicy.HANDOFF;
  }

  /** The policy ({@link BarrierPolicy#NONE} until set). */
  public BarrierPolicy policy() {
    return policy;
  }

  /** Whether an access of this kind at {@code offset} faults now. */
  public boolean faults(long offset, Access access) {
    return mode(offset).forbids(access);
  }

  /**
   * A mutator's load ({@code value} ignored) or store of {@code size} bytes at {@code offset}
   * through the mutator's view. {@code nativeState}: the access runs in native state (the
   * module's accessors, or a declared native mutator), which HANDOFF may park; a JIT-compiled Java
   * access may not be parked and takes the region's fallback. A fault predicted as
   * {@link Resolution#FAIL_FAST} changes nothing in the model (the real process would end).
   *
   * @throws IllegalStateException if a HANDOFF decision would leave the fault unresolved (opens
   *     the page to a mode that still forbids the access): the real mutator would fault again
   */
  public Outcome access(long offset, Access access, int size, long value, boolean nativeState) {
    Objects.requireNonNull(access, "access");
    int p = page(offset);
    if (size != 1 && size != 2 && size != 4 && size != 8 || (offset % granularity) + size > granularity) {
      throw new IllegalArgumentException("an access of " + size + " bytes at offset " + offset
          + " is not 1, 2, 4 or 8 bytes inside one page");
    }
    AccessSet mode = mode(offset);
    if (!mode.forbids(access)) {
      return new Outcome(false, Resolution.NONE, mode, apply(offset, access, size, value));
    }
    BarrierPolicy effective = policy;
    if (policy == BarrierPolicy.HANDOFF && !nativeState) {
      effective = fallback == HandoffFallback.UNPROTECT ? BarrierPolicy.UNPROTECT : BarrierPolicy.NONE;
    }
    switch (effective) {
      case UNPROTECT: {
        AccessSet after = access == Access.WRITE ? AccessSet.EMPTY : mode.minus(AccessSet.READ);
        modes[p] = (byte) after.bits();
        (access == Access.WRITE ? dirty : touched).set(p);
        return new Outcome(true, Resolution.UNPROTECTED, after, apply(offset, access, size, value));
      }
      case STEP: {
        long before = load(offset, size);
        long v = apply(offset, access, size, value);
        log.add(new LogEntry(offset, access, size, before, access == Access.WRITE ? v : before));
        return new Outcome(true, Resolution.STEPPED, mode, v);
      }
      case HANDOFF: {
        HandoffDecision d = Objects.requireNonNull(handler.apply(offset, access), "the handler's decision");
        if (!d.emulate()) {
          if (d.mode().forbids(access)) {
            throw new IllegalStateException("handoff decision " + d + " leaves the " + access + " at offset "
                + offset + " forbidden: the mutator would fault again");
          }
          modes[p] = (byte) d.mode().bits();
        }
        return new Outcome(true, Resolution.HANDED_OFF, mode(offset), apply(offset, access, size, value));
      }
      default:
        return new Outcome(true, Resolution.FAIL_FAST, mode, value);
    }
  }

  /** A write through the alias view: never faults, marks nothing. */
  public void aliasWrite(long offset, int size, long value) {
    page(offset);
    store(offset, size, value);
  }

  /** The contents at {@code offset} as the alias view shows them. */
  public long load(long offset, int size) {
    long v = 0;
    for (int i = size - 1; i >= 0; i--) {
      v = (v << 8) | (byteAt(offset + index(i, size)) & 0xff);
    }
    return v;
  }

  /** Region.harvest: the dirty pages, re-protected with {@code modeAfter}, their bits cleared. */
  public BitSet harvest(AccessSet modeAfter) {
    return harvestBits(dirty, modeAfter);
  }

  /** Region.harvestTouched: the touched pages, re-protected with {@code modeAfter}, their bits cleared. */
  public BitSet harvestTouched(AccessSet modeAfter) {
    return harvestBits(touched, modeAfter);
  }

  /** The dirty pages now (a copy). */
  public BitSet dirtyPages() {
    return (BitSet) dirty.clone();
  }

  /** The touched pages now (a copy). */
  public BitSet touchedPages() {
    return (BitSet) touched.clone();
  }

  /** Region.drainLog: the accesses STEP emulated since the last drain, oldest first. */
  public List<LogEntry> drainLog() {
    List<LogEntry> out = List.copyOf(log);
    log.clear();
    return out;
  }

  /** {@link #drainLog()} as the region based at {@code base} reports it. */
  public List<AccessLogEntry> drainLog(long base) {
    return drainLog().stream().map(e -> e.at(base)).toList();
  }

  /** The contents as a fresh buffer of {@link #size()} bytes (size must fit an int). */
  public ByteBuffer contents() {
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(size()));
    for (int p = 0; p < pages; p++) {
      if (contents[p] != null) {
        b.put((int) (p * granularity), contents[p]);
      }
    }
    return b;
  }

  private BitSet harvestBits(BitSet bits, AccessSet modeAfter) {
    Objects.requireNonNull(modeAfter, "modeAfter");
    BitSet reported = (BitSet) bits.clone();
    for (int p = reported.nextSetBit(0); p >= 0; p = reported.nextSetBit(p + 1)) {
      modes[p] = (byte) modeAfter.bits();
    }
    bits.clear();
    return reported;
  }

  private long apply(long offset, Access access, int size, long value) {
    if (access == Access.WRITE) {
      store(offset, size, value);
      return value;
    }
    return load(offset, size);
  }

  private void store(long offset, int size, long value) {
    for (int i = 0; i < size; i++) {
      long at = offset + index(i, size);
      int p = page(at);
      if (contents[p] == null) {
        contents[p] = new byte[(int) granularity];
      }
      contents[p][(int) (at % granularity)] = (byte) (value >>> (8 * i));
    }
  }

  private byte byteAt(long at) {
    byte[] c = contents[page(at)];
    return c == null ? 0 : c[(int) (at % granularity)];
  }

  /** The offset within the access of its i-th least significant byte. */
  private static int index(int i, int size) {
    return ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? i : size - 1 - i;
  }

  private int page(long offset) {
    if (offset < 0 || offset >= size()) {
      throw new ProtRangeException(String.format("offset %d is outside the region [0, %d)", offset, size()));
    }
    return (int) (offset / granularity);
  }
}
