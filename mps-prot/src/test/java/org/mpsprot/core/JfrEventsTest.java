package org.mpsprot.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import jdk.jfr.Configuration;
import jdk.jfr.EventType;
import jdk.jfr.FlightRecorder;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.mpsprot.AccessSet;
import org.mpsprot.Accessors;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.HandoffFallback;
import org.mpsprot.Prot;
import org.mpsprot.ProtMXBean;
import org.mpsprot.Region;
import org.mpsprot.os.ProtOs;

/**
 * The JFR events (docs/design/fault.md .jfr): a recording made in this JVM with the settings file
 * shipped in the jar, read back with jdk.jfr.consumer, has every event type with the values of
 * known operations (a fault's exact address and resolution, a ProtSet's range and mode, a
 * handoff's park duration); the fault ring samples only while a recording wants Fault events; a
 * full ring is reported as dropped records.
 */
class JfrEventsTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();

  static Configuration shippedSettings() throws Exception {
    try (InputStream in = Prot.class.getResourceAsStream("mps-prot.jfc")) {
      assertNotNull(in, "org/mpsprot/mps-prot.jfc is in the jar's resources");
      try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
        return Configuration.create(r);
      }
    }
  }

  private static List<RecordedEvent> stopAndRead(Recording rec) throws Exception {
    rec.stop();
    Path file = Files.createTempFile("mpsprot", ".jfr");
    try {
      rec.dump(file);
      return RecordingFile.readAllEvents(file);
    } finally {
      rec.close();
      Files.deleteIfExists(file);
    }
  }

  private static List<RecordedEvent> of(List<RecordedEvent> events, String name, Predicate<RecordedEvent> p) {
    return events.stream().filter(e -> e.getEventType().getName().equals(name)).filter(p)
        .collect(Collectors.toList());
  }

  private static RecordedEvent one(List<RecordedEvent> events, String name, Predicate<RecordedEvent> p) {
    List<RecordedEvent> found = of(events, name, p);
    assertEquals(1, found.size(), name + " events matching: " + found + "\nall " + name + ": "
        + of(events, name, e -> true));
    return found.get(0);
  }

  @Test
  void aRecordingHasEveryEventWithTheValuesOfKnownOperations() throws Exception {
    List<RecordedEvent> events;
    long base;
    long alias;
    long size = 8 * page;
    int slot;
    long writeAt;
    long readAt;
    long stepAt;
    long fellBackAt;
    long handoffBase;
    long handoffAt;
    long harvested;
    long harvestedTouched;
    try (Recording rec = new Recording(shippedSettings())) {
      rec.start();
      assertTrue(Jfr.recording && Jfr.ringOn(), "a running recording that wants Fault events turns the ring on");
      Region r = prot.reserve(size);
      base = r.base();
      alias = r.aliasBase();
      slot = ((RegionHandle) r).impl().nat.slot();
      r.setPolicy(BarrierPolicy.UNPROTECT);
      prot.set(base, base + 4 * page, AccessSet.WRITE);
      writeAt = base + page + 24;
      r.mutatorView().putLong((int) (page + 24), 7); // a write fault, unprotected
      r.protect(5 * page, page, AccessSet.ALL);
      readAt = base + 5 * page + 8;
      assertEquals(0, r.mutatorView().getLong((int) (5 * page + 8))); // a read fault, unprotected
      harvested = r.harvest(AccessSet.WRITE).cardinality();
      harvestedTouched = r.harvestTouched(AccessSet.READ).cardinality();
      prot.batch().set(base, base + page, AccessSet.EMPTY).set(base + 2 * page, base + 3 * page, AccessSet.ALL)
          .apply();
      prot.sync();
      r.setPolicy(BarrierPolicy.STEP);
      r.protect(6 * page, page, AccessSet.WRITE);
      stepAt = base + 6 * page + 16;
      r.mutatorView().putLong((int) (6 * page + 16), 42); // stepped
      r.close();

      try (Region h = prot.reserve(4 * page)) {
        handoffBase = h.base();
        h.setHandoff(ctx -> {
          Thread.sleep(30);
          prot.set(h.base(), h.base() + page, AccessSet.EMPTY);
        }, HandoffFallback.UNPROTECT);
        h.protect(0, 2 * page, AccessSet.ALL);
        handoffAt = h.base() + 40;
        assertEquals(0, Accessors.getLong(handoffAt)); // parks ~30 ms, handed off
        fellBackAt = h.base() + page + 8;
        h.mutatorView().putLong((int) (page + 8), 1); // not in native state: the fallback unprotects
      }
      Thread.sleep(500); // at least one FaultRing period (200 ms)
      events = stopAndRead(rec);
    }
    assertFalse(Jfr.ringOn(), "the ring is off once no recording wants Fault events");
    String asked = System.getProperty(org.mpsprot.os.NativeBackend.PROPERTY);
    if (asked != null) { // the ring's calls went through the backend the run asked for
      assertEquals(asked.toUpperCase(java.util.Locale.ROOT), org.mpsprot.os.NativeBackend.current().kind().name());
    }

    Set<String> seen = events.stream().map(e -> e.getEventType().getName())
        .filter(n -> n.startsWith("org.mpsprot.")).collect(Collectors.toCollection(TreeSet::new));
    assertEquals(new TreeSet<>(Jfr.eventNames()), seen, "every event type appears");
    for (RecordedEvent e : events) {
      if (e.getEventType().getName().startsWith("org.mpsprot.")) {
        assertTrue(e.getEventType().getCategoryNames().equals(List.of("mps-prot")), e.getEventType().getName());
      }
    }

    RecordedEvent reserve = one(events, "org.mpsprot.RegionReserve", e -> e.getLong("base") == base);
    assertEquals(alias, reserve.getLong("aliasBase"));
    assertEquals(size, reserve.getLong("size"));
    assertEquals(slot, reserve.getInt("slot"));
    RecordedEvent close = one(events, "org.mpsprot.RegionClose", e -> e.getLong("base") == base);
    assertEquals(size, close.getLong("size"));

    RecordedEvent set = one(events, "org.mpsprot.ProtSet",
        e -> e.getLong("base") == base && e.getLong("limit") == base + 4 * page);
    assertEquals(AccessSet.WRITE.toString(), set.getString("mode"));
    assertEquals(1, set.getInt("osCalls"));
    assertEquals(4 * page, set.getLong("size"));
    assertFalse(set.getBoolean("batch"));
    assertNull(set.getString("error"));
    assertTrue(!set.getDuration().isNegative() && set.getDuration().compareTo(Duration.ofSeconds(1)) < 0);
    RecordedEvent batch = one(events, "org.mpsprot.ProtSet", e -> e.getBoolean("batch") && e.getLong("base") == base);
    assertEquals(2, batch.getInt("osCalls"), "two runs of different modes");
    assertEquals(base + 3 * page, batch.getLong("limit"));
    assertEquals("mixed", batch.getString("mode"));

    RecordedEvent write = one(events, "org.mpsprot.Fault", e -> e.getLong("address") == writeAt);
    assertEquals("write", write.getString("access"));
    assertEquals("UNPROTECT", write.getString("policy"));
    assertEquals("unprotected", write.getString("resolution"));
    assertEquals(slot, write.getInt("regionSlot"));
    assertTrue(write.getLong("osThreadId") > 0);
    assertTrue(write.getDuration("handlerDuration").compareTo(Duration.ofSeconds(1)) < 0);
    RecordedEvent read = one(events, "org.mpsprot.Fault", e -> e.getLong("address") == readAt);
    assertEquals("read", read.getString("access"));
    assertEquals("unprotected", read.getString("resolution"));
    RecordedEvent step = one(events, "org.mpsprot.Fault", e -> e.getLong("address") == stepAt);
    assertEquals("STEP", step.getString("policy"));
    assertEquals("stepped", step.getString("resolution"));
    RecordedEvent handed = one(events, "org.mpsprot.Fault", e -> e.getLong("address") == handoffAt);
    assertEquals("HANDOFF", handed.getString("policy"));
    assertEquals("handed off", handed.getString("resolution"));
    assertTrue(handed.getDuration("handlerDuration").toMillis() >= 25, "the park is in the handler's time: "
        + handed.getDuration("handlerDuration"));
    RecordedEvent fell = one(events, "org.mpsprot.Fault", e -> e.getLong("address") == fellBackAt);
    assertEquals("fell back", fell.getString("resolution"));
    assertEquals(write.getLong("osThreadId"), fell.getLong("osThreadId"), "the same mutator thread");

    RecordedEvent handoff = one(events, "org.mpsprot.Handoff", e -> e.getLong("address") == handoffAt);
    assertEquals("read", handoff.getString("access"));
    assertEquals("resumed", handoff.getString("outcome"));
    assertEquals(handoffBase, handoff.getLong("regionBase"));
    assertEquals(write.getLong("osThreadId"), handoff.getLong("osThreadId"));
    assertTrue(handoff.getDuration("parkDuration").toMillis() >= 25, "parked while the handler slept: "
        + handoff.getDuration("parkDuration"));
    assertTrue(handoff.getDuration().toMillis() >= 25, "the handler's time");

    RecordedEvent harvest = one(events, "org.mpsprot.Harvest",
        e -> e.getLong("regionBase") == base && "dirty".equals(e.getString("bits")));
    assertEquals(1, harvested);
    assertEquals(1, harvest.getLong("pagesReported"), "the one page written");
    RecordedEvent touchedHarvest = one(events, "org.mpsprot.Harvest",
        e -> e.getLong("regionBase") == base && "touched".equals(e.getString("bits")));
    assertEquals(1, harvestedTouched);
    assertEquals(1, touchedHarvest.getLong("pagesReported"), "the one page a read fault opened");
    assertEquals(AccessSet.READ.toString(), touchedHarvest.getString("modeAfter"));
    assertEquals(8, harvest.getLong("pages"));
    assertEquals(AccessSet.WRITE.toString(), harvest.getString("modeAfter"));

    RecordedEvent sync = of(events, "org.mpsprot.Sync", e -> true).get(0);
    assertTrue(sync.getInt("regionsChecked") >= 1);
    assertEquals(0, sync.getInt("differences"));
    assertEquals(0, sync.getInt("repaired"));

    List<RecordedEvent> ring = of(events, "org.mpsprot.FaultRing", e -> true);
    // JFR's periodic thread may run a first time between the recording's start and the listener
    // that turns the ring on (samplingPeriod 0 then); later ones see the ring on.
    assertTrue(ring.stream().anyMatch(e -> e.getInt("samplingPeriod") == Jfr.SAMPLING), ring.toString());
    assertTrue(ring.stream().allMatch(e -> e.getInt("samplingPeriod") == Jfr.SAMPLING || e.getInt("samplingPeriod") == 0),
        ring.toString());
  }

  @Test
  void aFailedProtSetIsRecordedWithItsError() throws Exception {
    List<RecordedEvent> events;
    long base;
    String thrown;
    try (Recording rec = new Recording(shippedSettings())) {
      rec.start();
      Region r = prot.reserve(2 * page);
      base = r.base();
      r.close();
      RuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
          () -> prot.set(base, base + page, AccessSet.WRITE));
      thrown = e.getClass().getSimpleName();
      events = stopAndRead(rec);
    }
    RecordedEvent set = one(events, "org.mpsprot.ProtSet", e -> e.getLong("base") == base);
    assertEquals(thrown, set.getString("error"), "the refusal, not a success");
  }

  @Test
  void theRingSamplesOnlyWhileARecordingWantsFaultEvents() throws Exception {
    ProtOs os = ProtModule.instance().os();
    assertFalse(Jfr.ringOn());
    assertEquals(0, os.sampleFaults(0), "no recording: the handler samples nothing");
    try (Recording rec = new Recording()) {
      rec.enable("org.mpsprot.ProtSet");
      rec.start();
      assertTrue(Jfr.recording);
      assertFalse(Jfr.ringOn(), "a recording without Fault events leaves the ring off");
      assertEquals(0, os.sampleFaults(0));
      rec.enable("org.mpsprot.Fault");
      try (Recording second = new Recording()) {
        second.enable("org.mpsprot.Fault");
        second.start();
        assertTrue(Jfr.ringOn(), "on once a running recording wants them");
        assertEquals(Jfr.SAMPLING, os.sampleFaults(Jfr.SAMPLING));
        second.stop();
      }
      rec.stop();
    }
    assertFalse(Jfr.recording);
    assertFalse(Jfr.ringOn());
    assertEquals(0, os.sampleFaults(0));
  }

  @Test
  void aFullRingIsReportedAsDroppedRecords() throws Exception {
    Map<String, String> settings = new java.util.HashMap<>(shippedSettings().getSettings());
    settings.put("org.mpsprot.FaultRing#period", "everyChunk"); // drained only when the recording stops
    settings.put("org.mpsprot.ProtSet#enabled", "false");
    int pages = 64;
    int faults = ProtOs.FAULT_RING_CAPACITY + 1000;
    List<RecordedEvent> events;
    long base;
    long droppedBefore = (Long) java.lang.management.ManagementFactory.getPlatformMBeanServer()
        .getAttribute(prot.registerMXBean(), "FaultRingDropped");
    try (Recording rec = new Recording(); Region r = prot.reserve(pages * page)) {
      rec.setSettings(settings);
      base = r.base();
      r.setPolicy(BarrierPolicy.UNPROTECT);
      rec.start();
      for (int i = 0; i < faults; i++) {
        if (i % pages == 0) {
          r.protectAll(AccessSet.WRITE);
        }
        r.mutatorView().put((int) ((i % pages) * page + i / pages), (byte) 1);
      }
      events = stopAndRead(rec);
    }
    long droppedAfter = (Long) java.lang.management.ManagementFactory.getPlatformMBeanServer()
        .getAttribute(new javax.management.ObjectName(ProtMXBean.OBJECT_NAME), "FaultRingDropped");
    long ours = of(events, "org.mpsprot.Fault",
        e -> e.getLong("address") >= base && e.getLong("address") < base + pages * page).size();
    long reported = of(events, "org.mpsprot.FaultRing", e -> true).stream().mapToLong(e -> e.getLong("dropped")).sum();
    assertTrue(ours <= ProtOs.FAULT_RING_CAPACITY, "at most a ring's worth: " + ours);
    assertTrue(reported >= faults - ProtOs.FAULT_RING_CAPACITY, "dropped records reported: " + reported);
    assertTrue(ours + reported >= faults, "each fault recorded or counted: " + ours + " + " + reported);
    assertEquals(reported, droppedAfter - droppedBefore, "the MXBean counts the same drops");
  }

  @Test
  void theShippedSettingsNameOnlyTheModulesEventsAndEqualTheDocsCopy() throws Exception {
    Set<String> named = new TreeSet<>();
    for (String key : shippedSettings().getSettings().keySet()) {
      named.add(key.substring(0, key.indexOf('#')));
    }
    assertEquals(new TreeSet<>(Jfr.eventNames()), named, "only the module's events, every one of them");
    Path docs = Path.of(System.getProperty("user.dir")).resolveSibling("docs").resolve("mps-prot.jfc");
    if (Files.exists(docs)) {
      try (InputStream in = Prot.class.getResourceAsStream("mps-prot.jfc")) {
        assertEquals(Files.readString(docs), new String(in.readAllBytes(), StandardCharsets.UTF_8),
            "docs/mps-prot.jfc and the jar's org/mpsprot/mps-prot.jfc are the same file");
      }
    }
    // Every event is registered with its labels once the module runs under JFR.
    try (Recording rec = new Recording(shippedSettings())) {
      rec.start();
      List<String> registered = new ArrayList<>();
      for (EventType t : FlightRecorder.getFlightRecorder().getEventTypes()) {
        if (t.getName().startsWith("org.mpsprot.")) {
          registered.add(t.getName());
          assertNotNull(t.getLabel(), t.getName());
          assertNotNull(t.getDescription(), t.getName());
          t.getFields().forEach(f -> assertNotNull(f.getLabel(), t.getName() + "." + f.getName()));
        }
      }
      assertTrue(registered.containsAll(List.of("org.mpsprot.Fault", "org.mpsprot.FaultRing")), registered.toString());
      rec.stop();
    }
  }
}
