package org.mpsprot.jmh;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.mpsprot.AccessSet;
import org.mpsprot.Accessors;
import org.mpsprot.BarrierPolicy;
import org.mpsprot.HandoffFallback;
import org.mpsprot.Prot;
import org.mpsprot.Region;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH benchmarks of the module's operations and of the mutator store paths a barrier designer
 * compares (docs/performance.md .jmh). Run with the command in docs/performance.md; not part
 * of the test suite (one smoke run is: {@code JmhSmokeTest}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class ProtBenchmarks {
  private static final int CARD_SHIFT = 9;

  private Prot prot;
  private long page;
  private Region protSetRegion;
  private Region open;
  private ByteBuffer openView;
  private Region trap;
  private ByteBuffer trapView;
  private Region handoff;
  private Region step;
  private ByteBuffer stepView;
  private byte[] cards;
  private long counter;

  @Setup(Level.Trial)
  public void setUp() {
    prot = Prot.setup();
    page = prot.granularity();
    protSetRegion = prot.reserve(3 * page);
    open = prot.reserve(64 * page);
    openView = open.mutatorView();
    cards = new byte[(int) (open.size() >>> CARD_SHIFT)];
    trap = prot.reserve(page);
    trap.setPolicy(BarrierPolicy.UNPROTECT);
    trapView = trap.mutatorView();
    handoff = prot.reserve(page);
    handoff.setHandoff(ctx -> prot.set(handoff.base(), handoff.limit(), AccessSet.EMPTY), HandoffFallback.FAIL_FAST);
    step = prot.reserve(page);
    step.setPolicy(BarrierPolicy.STEP);
    step.protectAll(AccessSet.ALL);
    stepView = step.mutatorView();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    for (Region r : new Region[] {protSetRegion, open, trap, handoff, step}) {
      r.close();
    }
  }

  /** ProtSet of one page whose neighbours differ (split) and back (merge): two calls. */
  @Benchmark
  public void protSetSplitAndMerge() {
    long b = protSetRegion.base() + page;
    prot.set(b, b + page, AccessSet.WRITE);
    prot.set(b, b + page, AccessSet.EMPTY);
  }

  /** A plain JIT-compiled store: the baseline of every store path. */
  @Benchmark
  public void storePlain() {
    openView.putLong((int) (counter++ & 4095) * 8, counter);
  }

  /** A store plus a card mark, as HotSpot's card-table write barrier does. */
  @Benchmark
  public void storeWithCardMark() {
    int offset = (int) (counter++ & 4095) * 8;
    openView.putLong(offset, counter);
    cards[offset >>> CARD_SHIFT] = 0;
  }

  /** A store through the module's native accessor (a JNA direct call). */
  @Benchmark
  public void storeAccessor() {
    Accessors.putLong(open.base() + (counter++ & 4095) * 8, counter);
  }

  /** A load through the module's native accessor. */
  @Benchmark
  public long loadAccessor() {
    return Accessors.getLong(open.base() + (counter++ & 4095) * 8);
  }

  /** TRAP + UNPROT: re-protect, store, the handler opens the page (no Java on the fault path). */
  @Benchmark
  public void trapUnprotect() {
    prot.set(trap.base(), trap.limit(), AccessSet.WRITE);
    trapView.putLong(8, counter++);
  }

  /** Re-protect, store through the accessor, a Java handler opens the page on the barrier thread. */
  @Benchmark
  public void handoffResolvedInJava() {
    prot.set(handoff.base(), handoff.limit(), AccessSet.WRITE);
    Accessors.putLong(handoff.base() + 8, counter++);
  }

  /** A store emulated by step-and-record; the page stays protected. Drains the log as it fills. */
  @Benchmark
  public void stepStore() {
    stepView.putLong(16, counter);
    if ((++counter & 2047) == 0) {
      step.drainLog();
    }
  }
}
