package org.mpsprot.core;

import org.mpsprot.ProtMXBean;

/**
 * {@link ProtMXBean} over the live module: each getter reads its value when called (a racy
 * snapshot across getters, as the interface says). Thread-safe.
 */
final class ProtMXBeanImpl implements ProtMXBean {
  private final ProtModule module;

  ProtMXBeanImpl(ProtModule module) {
    this.module = module;
  }

  private long counter(int which) {
    return module.os().counter(which);
  }

  @Override
  public long getReadFaults() {
    return counter(0);
  }

  @Override
  public long getWriteFaults() {
    return counter(1);
  }

  @Override
  public long getUnprotected() {
    return counter(2);
  }

  @Override
  public long getStepped() {
    return counter(3);
  }

  @Override
  public long getHandoffs() {
    return counter(4);
  }

  @Override
  public long getSpurious() {
    return counter(5);
  }

  @Override
  public long getChained() {
    return counter(6);
  }

  @Override
  public long getFailFast() {
    return counter(7);
  }

  @Override
  public long getLogFull() {
    return counter(8);
  }

  @Override
  public long getOsProtectCalls() {
    return module.osProtectCalls();
  }

  @Override
  public boolean isHandlerInstalled() {
    return module.handlerInstalled();
  }

  @Override
  public int getLiveRegions() {
    return module.regions().size();
  }

  @Override
  public long getFaultRingDropped() {
    return module.os().faultRingDropped();
  }
}
