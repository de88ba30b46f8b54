package org.mpsprot.barrier;

import java.util.BitSet;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.mpsprot.Region;

/**
 * A deliberately broken write barrier, for showing that verification works (docs/barriers.md
 * .demo.broken; {@code demo --broken}): it wraps another strategy and drops the lowest granule
 * of every harvest that reports any, as a buggy barrier that loses a dirty page would.
 * The granule is re-armed by the wrapped strategy and never reported, so an old-to-young
 * reference stored there is missed by the next minor collection. Never use it for anything else.
 */
public final class BrokenStrategy implements WriteBarrierStrategy {
  private final WriteBarrierStrategy inner;
  private final AtomicLong dropped = new AtomicLong();

  public BrokenStrategy(WriteBarrierStrategy inner) {
    this.inner = Objects.requireNonNull(inner, "inner");
  }

  /** Granules dropped so far, over every tracker this strategy attached. */
  public long dropped() {
    return dropped.get();
  }

  @Override
  public String name() {
    return inner.name() + "-broken";
  }

  @Override
  public String description() {
    return inner.description() + ", BROKEN: drops one dirty granule per harvest";
  }

  @Override
  public Availability availability() {
    return inner.availability();
  }

  @Override
  public boolean harvestNeedsStoppedMutators() {
    return inner.harvestNeedsStoppedMutators();
  }

  @Override
  public boolean hitsEveryStore() {
    return inner.hitsEveryStore();
  }

  @Override
  public Tracker attach(Region region) {
    Tracker t = inner.attach(region);
    return new Tracker() {
      @Override
      public Region region() {
        return t.region();
      }

      @Override
      public String strategy() {
        return name();
      }

      @Override
      public long granule() {
        return t.granule();
      }

      @Override
      public BitSet harvest() {
        BitSet b = t.harvest();
        if (!b.isEmpty()) {
          b.clear(b.nextSetBit(0));
          dropped.incrementAndGet();
        }
        return b;
      }

      @Override
      public void onStore(long address) {
        t.onStore(address);
      }

      @Override
      public long hits() {
        return t.hits();
      }

      @Override
      public SyscallWindow prepareForSyscall(long address, long length) {
        return t.prepareForSyscall(address, length);
      }

      @Override
      public KernelPin pinForKernel(long address, long length) {
        return t.pinForKernel(address, length);
      }

      @Override
      public void close() {
        t.close();
      }
    };
  }
}
