package org.mpsprot.core;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.mpsprot.Access;
import org.mpsprot.AccessLogEntry;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.FaultHandler;
import org.mpsprot.HandoffFallback;
import org.mpsprot.ProtRangeException;
import org.mpsprot.Region;
import org.mpsprot.RegionClosedException;
import org.mpsprot.os.ProtOs.NativeRegion;

/** A region of the module: region-relative helpers over {@link ProtModule}'s ProtSet. */
final class RegionImpl implements Region {
  private final ProtModule module;
  final NativeRegion nat;
  /** The shim's record: one byte of AccessSet bits per page. Read under the module's lock. */
  final ByteBuffer record;
  private volatile boolean closed;
  private volatile BarrierPolicy policy = BarrierPolicy.NONE;
  private volatile FaultHandler handler;
  /** The views' scope ({@link RegionScopes}), closed by close(); guarded by the module's lock. */
  AutoCloseable scope;
  /** The handle reserve() returned, held weakly so that the user's dropping it is seen. */
  private java.lang.ref.WeakReference<RegionHandle> handle;

  RegionImpl(ProtModule module, NativeRegion nat, ByteBuffer record) {
    this.module = module;
    this.nat = nat;
    this.record = record;
  }

  ProtModule module() {
    return module;
  }

  /** Makes the handle reserve() returns (.sol.cleaner). */
  RegionHandle newHandle() {
    RegionHandle h = new RegionHandle(this);
    handle = new java.lang.ref.WeakReference<>(h);
    return h;
  }

  /**
   * The Region the user holds (the handle), for a fault context or a listing; this object if the
   * handle is already unreachable (its Cleaner is about to close the region).
   */
  Region publicRegion() {
    java.lang.ref.WeakReference<RegionHandle> w = handle;
    RegionHandle h = w == null ? null : w.get();
    return h == null ? this : h;
  }

  @Override
  public long base() {
    return nat.base();
  }

  @Override
  public long limit() {
    return nat.base() + nat.size();
  }

  @Override
  public long size() {
    return nat.size();
  }

  @Override
  public long pages() {
    return nat.size() / module.granularity();
  }

  @Override
  public long aliasBase() {
    return nat.alias();
  }

  @Override
  public void protect(long offset, long length, AccessSet mode) {
    ensureOpen();
    if (offset < 0 || length <= 0 || offset > size() - length) {
      throw new ProtRangeException(String.format(
          "protect(offset=%d, length=%d): outside region %s of %d bytes; allowed:"
              + " 0 <= offset, 0 < length, offset + length <= %d", offset, length, this, size(), size()));
    }
    long g = module.granularity();
    if (offset % g != 0 || length % g != 0) {
      boolean offsetBad = offset % g != 0;
      long first = offset - offset % g;
      long end = offset + length + (g - (offset + length) % g) % g;
      throw new ProtRangeException(String.format(
          "protect(offset=%d, length=%d) on region %s: %s %d is not a multiple of the granularity"
              + " %d; offset and length must both be whole pages (the pages it touches: offset %d,"
              + " length %d)", offset, length, this, offsetBad ? "offset" : "length",
          offsetBad ? offset : length, g, first, end - first));
    }
    module.set(base() + offset, base() + offset + length, mode);
  }

  @Override
  public void protectAll(AccessSet mode) {
    ensureOpen();
    module.set(base(), limit(), mode);
  }

  @Override
  public AccessSet mode(long offset) {
    ensureOpen();
    if (offset < 0 || offset >= size()) {
      throw new ProtRangeException(
          "mode(offset=" + offset + "): outside region " + this + "; allowed: 0 <= offset < " + size());
    }
    return module.recordedMode(base() + offset);
  }

  @Override
  public ByteBuffer alias() {
    return view(nat.alias());
  }

  @Override
  public ByteBuffer mutatorView() {
    return view(nat.base());
  }

  @Override
  public ByteBuffer alias(long offset, int length) {
    return window("alias", nat.alias(), offset, length);
  }

  @Override
  public ByteBuffer mutatorView(long offset, int length) {
    return window("mutatorView", nat.base(), offset, length);
  }

  private ByteBuffer window(String op, long address, long offset, int length) {
    ensureOpen();
    if (offset < 0 || length < 0 || offset > size() - length) {
      throw new ProtRangeException(String.format(
          "%s(offset=%d, length=%d): outside region %s of %d bytes; allowed: 0 <= offset,"
              + " 0 <= length, offset + length <= %d", op, offset, length, this, size(), size()));
    }
    return module.os().buffer(address + offset, length).order(java.nio.ByteOrder.nativeOrder());
  }

  private ByteBuffer view(long address) {
    ensureOpen();
    if (size() > Integer.MAX_VALUE) {
      throw new UnsupportedOperationException(
          "region " + this + " has " + size() + " bytes, more than a ByteBuffer can address ("
              + Integer.MAX_VALUE + " bytes): use the windowed views alias(offset, length) and"
              + " mutatorView(offset, length), or on JDK 22+ RegionSegments");
    }
    return module.os().buffer(address, size()).order(java.nio.ByteOrder.nativeOrder());
  }

  @Override
  public void setPolicy(BarrierPolicy policy) {
    if (policy == BarrierPolicy.HANDOFF) {
      throw new IllegalArgumentException("HANDOFF needs a fault handler: use setHandoff(handler, fallback)");
    }
    module.setPolicy(this, policy, null, HandoffFallback.FAIL_FAST);
  }

  @Override
  public void setHandoff(FaultHandler handler, HandoffFallback fallback) {
    module.setPolicy(this, BarrierPolicy.HANDOFF, java.util.Objects.requireNonNull(handler, "handler"),
        java.util.Objects.requireNonNull(fallback, "fallback"));
  }

  void policyChanged(BarrierPolicy policy, FaultHandler handler) {
    this.handler = handler;
    this.policy = policy;
  }

  @Override
  public BarrierPolicy policy() {
    ensureOpen();
    return policy;
  }

  /** The policy without the open check, for {@link ProtModule#describe} (under its lock). */
  BarrierPolicy policyUnchecked() {
    return policy;
  }

  @Override
  public org.mpsprot.RegionSnapshot describe() {
    return module.describe(this);
  }

  FaultHandler handler() {
    return handler;
  }

  @Override
  public BitSet harvest(AccessSet modeAfter) {
    return module.harvest(this, modeAfter);
  }

  @Override
  public BitSet harvestTouched(AccessSet modeAfter) {
    return module.harvestTouched(this, modeAfter);
  }

  @Override
  public BitSet dirtyPages() {
    return module.bitmap(this, 0);
  }

  @Override
  public BitSet touchedPages() {
    return module.bitmap(this, 1);
  }

  @Override
  public List<AccessLogEntry> drainLog() {
    return module.drainLog(this);
  }

  static List<AccessLogEntry> parseLog(ByteBuffer buf, int n) {
    List<AccessLogEntry> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int at = 32 * i;
      out.add(new AccessLogEntry(buf.getLong(at), buf.getInt(at + 24) == 2 ? Access.WRITE : Access.READ,
          buf.getInt(at + 28), buf.getLong(at + 8), buf.getLong(at + 16)));
    }
    return out;
  }

  @Override
  public boolean isClosed() {
    return closed;
  }

  void markClosed() {
    closed = true;
  }

  void ensureOpen() {
    if (closed) {
      throw new RegionClosedException("region " + this + " was closed; reserve a new one");
    }
  }

  @Override
  public void close() {
    module.close(this);
  }

  @Override
  public String toString() {
    return String.format("[0x%x, 0x%x)", base(), limit());
  }
}
