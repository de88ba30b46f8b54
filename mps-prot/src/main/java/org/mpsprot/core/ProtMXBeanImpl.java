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

  /**
   * Registers a bean over {@code module} as {@link ProtMXBean#OBJECT_NAME} unless {@code current}
   * (the module's bean, or null) is registered still; returns the bean registered. A name held
   * by another bean is refused and that bean left alone. The caller serialises calls.
   */
  static ProtMXBeanImpl register(ProtModule module, ProtMXBeanImpl current) {
    javax.management.ObjectName name = name();
    javax.management.MBeanServer server = java.lang.management.ManagementFactory.getPlatformMBeanServer();
    if (current != null && server.isRegistered(name)) {
      return current; // ours, still there (if someone unregistered it, it is registered again below)
    }
    ProtMXBeanImpl bean = new ProtMXBeanImpl(module);
    try {
      server.registerMBean(bean, name);
    } catch (javax.management.InstanceAlreadyExistsException e) {
      throw new IllegalStateException("registerMXBean: another MBean is registered as " + name
          + " (not this module's: another copy of mps-prot in another class loader, or an"
          + " application's own bean); nothing was registered. What to do: unregister that one"
          + " first, or read this module's counters with Prot.counters()", e);
    } catch (javax.management.JMException e) {
      throw new IllegalStateException("registerMXBean: the platform MBean server refused " + name
          + ": " + e, e);
    }
    return bean;
  }

  /** Unregisters the bean of {@link ProtMXBean#OBJECT_NAME}, if someone else has not already. */
  static void unregister() {
    try {
      java.lang.management.ManagementFactory.getPlatformMBeanServer().unregisterMBean(name());
    } catch (javax.management.InstanceNotFoundException e) {
      // unregistered by someone else meanwhile: ours is gone either way
    } catch (javax.management.JMException e) {
      throw new IllegalStateException("unregisterMXBean: " + e, e);
    }
  }

  static javax.management.ObjectName name() {
    try {
      return new javax.management.ObjectName(ProtMXBean.OBJECT_NAME);
    } catch (javax.management.MalformedObjectNameException e) {
      throw new AssertionError(e);
    }
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
