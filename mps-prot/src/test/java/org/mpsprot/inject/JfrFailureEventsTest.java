package org.mpsprot.inject;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import jdk.jfr.Configuration;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.Prot;
import org.mpsprot.ProtOsException;
import org.mpsprot.Region;

/**
 * docs/design/fault.md .jfr on failure paths, with OS calls made to fail (.inject): a harvest whose
 * re-protection fails is a Harvest event with its errno; a fault whose opening the OS refuses
 * (.sol.open.refused) is a Fault event that fell back (UNPROTECT emulated the access instead).
 */
@EnabledIfSystemProperty(named = "mpsprot.inject", matches = "true",
    disabledReason = "needs the fault-injection build of the shim: run by the fault-injection execution")
class JfrFailureEventsTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();

  @AfterEach
  void disarm() {
    Inject.disarmAll();
  }

  private static Recording recording() throws Exception {
    try (var in = new InputStreamReader(Prot.class.getResourceAsStream("mps-prot.jfc"), StandardCharsets.UTF_8)) {
      return new Recording(Configuration.create(in));
    }
  }

  private static List<RecordedEvent> stopAndRead(Recording rec, String name) throws Exception {
    rec.stop();
    Path file = Files.createTempFile("mpsprot", ".jfr");
    try {
      rec.dump(file);
      return RecordingFile.readAllEvents(file).stream().filter(e -> e.getEventType().getName().equals(name))
          .collect(Collectors.toList());
    } finally {
      rec.close();
      Files.deleteIfExists(file);
    }
  }

  @Test
  void aFailedHarvestIsRecordedWithItsErrno() throws Exception {
    List<RecordedEvent> harvests;
    long base;
    try (Recording rec = recording(); Region r = prot.reserve(4 * page)) {
      base = r.base();
      r.setPolicy(BarrierPolicy.UNPROTECT);
      r.protectAll(AccessSet.WRITE);
      r.mutatorView().put(0, (byte) 1);
      rec.start();
      Inject.arm(Inject.Site.MPROTECT, 1, 1, 12 /* ENOMEM */);
      assertThrows(ProtOsException.class, () -> r.harvest(AccessSet.WRITE));
      Inject.disarmAll();
      harvests = stopAndRead(rec, "org.mpsprot.Harvest");
    }
    List<RecordedEvent> ours = harvests.stream().filter(e -> e.getLong("regionBase") == base).collect(Collectors.toList());
    assertEquals(1, ours.size(), harvests.toString());
    assertEquals("ENOMEM", ours.get(0).getString("error"));
    assertEquals(0, ours.get(0).getLong("pagesReported"), "a failed harvest reports nothing (.sol.harvest)");
  }

  @Test
  void aFaultWhoseOpeningTheOsRefusesFellBack() throws Exception {
    List<RecordedEvent> faults;
    long at;
    try (Recording rec = recording(); Region r = prot.reserve(4 * page)) {
      r.setPolicy(BarrierPolicy.UNPROTECT);
      r.protectAll(AccessSet.WRITE);
      at = r.base() + 2 * page + 24;
      rec.start();
      Inject.arm(Inject.Site.MPROTECT, 1, Long.MAX_VALUE / 2, 12 /* ENOMEM */);
      r.mutatorView().putLong((int) (2 * page) + 24, 5);
      Inject.disarmAll();
      faults = stopAndRead(rec, "org.mpsprot.Fault");
    }
    List<RecordedEvent> ours = faults.stream().filter(e -> e.getLong("address") == at).collect(Collectors.toList());
    assertEquals(1, ours.size(), faults.toString());
    assertEquals("UNPROTECT", ours.get(0).getString("policy"));
    assertEquals("fell back", ours.get(0).getString("resolution"), "emulated: the OS refused to open the page");
    assertTrue(ours.get(0).getString("access").equals("write"));
  }
}
