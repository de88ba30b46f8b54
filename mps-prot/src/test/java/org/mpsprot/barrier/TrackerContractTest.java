package org.mpsprot.barrier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mpsprot.AccessSet;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.Prot;
import org.mpsprot.Region;

/** The {@link Tracker} and {@link WriteBarrierStrategy} contracts, strategy by strategy. */
class TrackerContractTest {
  private final Prot prot = Prot.setup();
  private final long page = prot.granularity();

  @Test
  void everyStrategyIsListedWithAReason() {
    for (WriteBarrierStrategy s : Strategies.all()) {
      Availability a = s.availability();
      assertFalse(a.reason().isBlank(), s.name());
      System.out.println("strategy " + s.name() + ": " + a);
    }
    assertTrue(new CardMarkingStrategy().availability().available(), "card marking works everywhere");
    assertTrue(new FaultStrategy().availability().available(), "the fault path is installed on Linux");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Strategies.byName("nope"));
    assertTrue(e.getMessage().contains("fault, uffd, soft-dirty, cards"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Availability.no(" "));
  }

  @ParameterizedTest
  @ValueSource(strings = {"fault", "uffd", "soft-dirty", "cards"})
  void oneTrackerPerRegionAndNothingAfterClose(String name) {
    WriteBarrierStrategy s = Strategies.byName(name);
    try (Region r = prot.reserve(8 * page)) {
      if (!s.availability().available()) {
        StrategyUnavailableException e = assertThrows(StrategyUnavailableException.class, () -> s.attach(r));
        assertEquals(s.availability(), e.availability());
        return;
      }
      Tracker t = s.attach(r);
      IllegalStateException twice = assertThrows(IllegalStateException.class, () -> Strategies.byName("cards").attach(r));
      assertTrue(twice.getMessage().contains("tracked already"), twice.getMessage());
      assertEquals(r.size() / t.granule(), t.granules());
      t.close();
      t.close(); // idempotent
      assertThrows(IllegalStateException.class, t::harvest);
      assertThrows(IllegalStateException.class, () -> t.prepareForSyscall(r.base(), 8));
      try (Tracker again = s.attach(r)) {
        assertTrue(again.harvest().isEmpty());
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"fault", "uffd", "cards"})
  void writesThroughTheAliasAreNeverReportedButTheMutatorsAre(String name) {
    WriteBarrierStrategy s = Strategies.byName(name);
    if (!s.availability().available()) {
      return; // reported by everyStrategyIsListedWithAReason
    }
    try (Region r = prot.reserve(8 * page); Tracker t = s.attach(r)) {
      r.alias().putLong((int) (3 * page), 7);
      assertTrue(t.harvest().isEmpty(), "the collector's write through the alias");
      r.mutatorView().putLong((int) (5 * page + 600), 9);
      t.onStore(r.base() + 5 * page + 600);
      BitSet got = t.harvest();
      assertEquals(1, got.cardinality(), got.toString());
      assertEquals((5 * page + 600) / t.granule(), got.nextSetBit(0));
      assertTrue(t.harvest().isEmpty(), "re-armed: reported once");
      assertEquals(7, r.mutatorView().getLong((int) (3 * page)), "the mutator sees the alias's write");
    }
  }

  @Test
  void theFaultStrategyWriteProtectsAndCloseRestoresFullAccess() {
    try (Region r = prot.reserve(4 * page)) {
      Tracker t = new FaultStrategy().attach(r);
      assertEquals(BarrierPolicy.UNPROTECT, r.policy());
      assertEquals(AccessSet.WRITE, r.mode(0));
      assertEquals(page, t.granule());
      t.close();
      assertEquals(BarrierPolicy.NONE, r.policy());
      assertEquals(AccessSet.EMPTY, r.mode(3 * page));
      r.mutatorView().putLong(8, 1); // no fault: would abort the process under policy NONE
    }
  }

  @Test
  void cardsMarkTheCardOfTheAddressAndIgnoreOthers() {
    try (Region r = prot.reserve(4 * page); Region other = prot.reserve(page)) {
      Tracker t = new CardMarkingStrategy().attach(r);
      assertEquals(512, t.granule());
      t.onStore(other.base() + 8);
      t.onStore(r.base() - 8);
      t.onStore(r.limit());
      assertTrue(t.harvest().isEmpty());
      assertEquals(0, t.hits(), "stores outside the region are not hits");
      t.onStore(r.base() + 1023);
      t.onStore(r.base() + 1024);
      t.onStore(r.limit() - 1);
      BitSet got = t.harvest();
      assertTrue(got.get(1) && got.get(2) && got.get((int) (4 * page / 512 - 1)), got.toString());
      assertEquals(3, got.cardinality());
      assertEquals(3, t.hits());
      t.close();
    }
    assertThrows(IllegalArgumentException.class, () -> new CardMarkingStrategy(100));
  }

  @Test
  void aHarvestWaitsForOpenSyscallWindows() throws Exception {
    try (Region r = prot.reserve(4 * page); Tracker t = new CardMarkingStrategy().attach(r)) {
      assertThrows(IllegalArgumentException.class, () -> t.prepareForSyscall(r.base(), 0));
      assertThrows(IllegalArgumentException.class, () -> t.prepareForSyscall(r.limit() - 8, 16));
      assertThrows(IllegalArgumentException.class, () -> t.prepareForSyscall(r.base() - 8, 16));
      Tracker.SyscallWindow w = t.prepareForSyscall(r.base() + page, 100);
      IllegalStateException self = assertThrows(IllegalStateException.class, t::harvest);
      assertTrue(self.getMessage().contains("syscall window"), self.getMessage());
      CompletableFuture<BitSet> other = CompletableFuture.supplyAsync(t::harvest);
      assertThrows(TimeoutException.class, () -> other.get(200, TimeUnit.MILLISECONDS), "the harvest waits");
      w.close();
      w.close();
      BitSet got = other.get(10, TimeUnit.SECONDS);
      assertTrue(got.get((int) (page / 512)), "the window's card is reported: " + got);
    }
  }
}
