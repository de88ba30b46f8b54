package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import javax.management.JMX;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.StandardMBean;
import org.junit.jupiter.api.Test;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.Prot;
import org.mpsprot.ProtMXBean;
import org.mpsprot.Region;

/**
 * docs/design/fault.md .mxbean: the counters as a platform MXBean, opt-in, read through the
 * platform MBean server as JConsole reads them, moving after a fault; registering twice is a
 * no-op; a name held by another bean is refused and leaves that bean alone.
 */
class ProtMXBeanTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();
  private final MBeanServer server = ManagementFactory.getPlatformMBeanServer();

  private long attr(ObjectName name, String attribute) throws Exception {
    return ((Number) server.getAttribute(name, attribute)).longValue();
  }

  @Test
  void theAttributesAreTheCountersAndMoveAfterAFault() throws Exception {
    ObjectName name = prot.registerMXBean();
    assertEquals(new ObjectName("org.mpsprot:type=Prot"), name);
    assertTrue(server.isRegistered(name));
    assertEquals("true", server.getMBeanInfo(name).getDescriptor().getFieldValue("mxbean"),
        "an MXBean (open types: JConsole and JMC show every attribute)");
    assertEquals(Boolean.TRUE, server.getAttribute(name, "HandlerInstalled"));
    long writes = attr(name, "WriteFaults");
    long unprotected = attr(name, "Unprotected");
    long calls = attr(name, "OsProtectCalls");
    long live = attr(name, "LiveRegions");
    try (Region r = prot.reserve(4 * page)) {
      assertEquals(live + 1, attr(name, "LiveRegions"));
      r.setPolicy(BarrierPolicy.UNPROTECT);
      r.protect(page, page, AccessSet.WRITE);
      r.mutatorView().putInt((int) page + 4, 5);
      assertEquals(writes + 1, attr(name, "WriteFaults"));
      assertEquals(unprotected + 1, attr(name, "Unprotected"));
      assertEquals(calls + 1, attr(name, "OsProtectCalls"));
    }
    assertEquals(live, attr(name, "LiveRegions"));
    // Every attribute agrees with Prot.counters() read through a proxy, as a tool would.
    ProtMXBean proxy = JMX.newMXBeanProxy(server, name, ProtMXBean.class);
    var c = prot.counters();
    assertEquals(c.readFaults(), proxy.getReadFaults());
    assertEquals(c.stepped(), proxy.getStepped());
    assertEquals(c.handoffs(), proxy.getHandoffs());
    assertEquals(c.spurious(), proxy.getSpurious());
    assertEquals(c.failFast(), proxy.getFailFast());
    assertEquals(c.logFull(), proxy.getLogFull());
    assertTrue(proxy.getChained() >= 0 && proxy.getFaultRingDropped() >= 0);
  }

  @Test
  void registeringTwiceIsANoOp() throws Exception {
    ObjectName first = prot.registerMXBean();
    int beans = server.getMBeanCount();
    assertEquals(first, prot.registerMXBean());
    assertEquals(beans, server.getMBeanCount());
    assertTrue(server.isRegistered(first));
    server.unregisterMBean(first); // by someone else, behind the module's back
    assertEquals(first, prot.registerMXBean(), "registered again");
    assertTrue(server.isRegistered(first));
    assertEquals(Boolean.TRUE, server.getAttribute(first, "HandlerInstalled"));
  }

  /** A bean of someone else's under the module's name. */
  public interface OtherMXBean {
    int getAnswer();
  }

  @Test
  void aNameHeldByAnotherBeanIsRefusedAndThatBeanStays() throws Exception {
    ObjectName name = new ObjectName(ProtMXBean.OBJECT_NAME);
    prot.unregisterMXBean();
    assertFalse(prot.unregisterMXBean(), "nothing of ours registered");
    assertFalse(server.isRegistered(name));
    server.registerMBean(new StandardMBean((OtherMXBean) () -> 42, OtherMXBean.class, true), name);
    try {
      IllegalStateException e = assertThrows(IllegalStateException.class, prot::registerMXBean);
      assertTrue(e.getMessage().contains("another MBean is registered as org.mpsprot:type=Prot"), e.getMessage());
      assertEquals(42, server.getAttribute(name, "Answer"), "the other bean is left alone");
      assertFalse(prot.unregisterMXBean(), "a refused registration registered nothing");
      assertTrue(server.isRegistered(name));
    } finally {
      server.unregisterMBean(name);
    }
    assertEquals(name, prot.registerMXBean(), "registered once the name is free");
    assertTrue(server.isRegistered(name));
  }
}
