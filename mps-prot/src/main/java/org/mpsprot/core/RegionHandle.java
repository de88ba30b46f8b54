package org.mpsprot.core;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.mpsprot.AccessLogEntry;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.FaultHandler;
import org.mpsprot.HandoffFallback;
import org.mpsprot.Region;

/**
 * The {@link Region} that {@link ProtModule#reserve} hands out: a handle on the module's
 * {@link RegionImpl}, which the module keeps. The module holds the handle only weakly, so a
 * region its user drops without {@link #close()} can become unreachable; then a
 * {@link Cleaner} closes it (docs/design/prot.md .sol.cleaner): the safety net, not the way to
 * free a region.
 *
 * <p>The cleaning action ({@link Reclaim}) references the {@link RegionImpl}, never this
 * handle. It runs only once neither the handle nor any {@link ByteBuffer} view it handed out is
 * reachable (each view is registered too: a direct buffer's slices and views keep it reachable),
 * so no Java code can reach the memory through the API any more; it then closes the region as
 * {@link #close()} would, whatever its protection or barrier state, under the module's lock.
 */
final class RegionHandle implements Region {
  /** The name of the thread that closes dropped regions. */
  static final String CLEANER_THREAD = "mps-prot region cleaner";
  private static final Cleaner CLEANER = Cleaner.create(r -> {
    Thread t = new Thread(r, CLEANER_THREAD);
    t.setDaemon(true);
    return t;
  });

  private final RegionImpl impl;
  private final Reclaim reclaim;

  RegionHandle(RegionImpl impl) {
    this.impl = impl;
    this.reclaim = new Reclaim(impl);
    CLEANER.register(this, reclaim);
  }

  RegionImpl impl() {
    return impl;
  }

  /**
   * Closes the region once the handle and every view it handed out are unreachable. It holds
   * the region's implementation, never the handle (a Cleaner's action that reaches its object
   * would keep it reachable forever).
   */
  static final class Reclaim implements Runnable {
    private final RegionImpl impl;
    /** The handle and the views not yet found unreachable. */
    private final AtomicInteger live = new AtomicInteger(1);

    Reclaim(RegionImpl impl) {
      this.impl = impl;
    }

    /** Called while the handle is strongly reachable (so live is at least 1). */
    <T> T track(T view) {
      live.incrementAndGet();
      CLEANER.register(view, this);
      return view;
    }

    @Override
    public void run() {
      if (live.decrementAndGet() == 0) {
        impl.module().reclaim(impl);
      }
    }
  }

  private ByteBuffer tracked(ByteBuffer view) {
    try {
      return reclaim.track(view);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public long base() {
    return impl.base();
  }

  @Override
  public long limit() {
    return impl.limit();
  }

  @Override
  public long size() {
    return impl.size();
  }

  @Override
  public long pages() {
    return impl.pages();
  }

  @Override
  public long aliasBase() {
    return impl.aliasBase();
  }

  @Override
  public void protect(long offset, long length, AccessSet mode) {
    try {
      impl.protect(offset, length, mode);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public void protectAll(AccessSet mode) {
    try {
      impl.protectAll(mode);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public AccessSet mode(long offset) {
    try {
      return impl.mode(offset);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public ByteBuffer alias() {
    return tracked(impl.alias());
  }

  @Override
  public ByteBuffer mutatorView() {
    return tracked(impl.mutatorView());
  }

  @Override
  public ByteBuffer alias(long offset, int length) {
    return tracked(impl.alias(offset, length));
  }

  @Override
  public ByteBuffer mutatorView(long offset, int length) {
    return tracked(impl.mutatorView(offset, length));
  }

  @Override
  public void setPolicy(BarrierPolicy policy) {
    try {
      impl.setPolicy(policy);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public void setHandoff(FaultHandler handler, HandoffFallback fallback) {
    try {
      impl.setHandoff(handler, fallback);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public BarrierPolicy policy() {
    return impl.policy();
  }

  @Override
  public BitSet harvest(AccessSet modeAfter) {
    try {
      return impl.harvest(modeAfter);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public BitSet harvestTouched(AccessSet modeAfter) {
    try {
      return impl.harvestTouched(modeAfter);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public BitSet dirtyPages() {
    try {
      return impl.dirtyPages();
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public BitSet touchedPages() {
    try {
      return impl.touchedPages();
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public org.mpsprot.RegionSnapshot describe() {
    try {
      return impl.describe();
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public List<AccessLogEntry> drainLog() {
    try {
      return impl.drainLog();
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public boolean isClosed() {
    return impl.isClosed();
  }

  @Override
  public void close() {
    try {
      impl.close();
    } finally {
      Reference.reachabilityFence(this); // the Cleaner must not race an explicit close
    }
  }

  @Override
  public String toString() {
    return impl.toString();
  }
}
