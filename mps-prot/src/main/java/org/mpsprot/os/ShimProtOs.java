package org.mpsprot.os;

import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import org.mpsprot.ProtOsException;

/**
 * What every {@link ProtOs} over libmpsprot has in common: the shim's API is the same on every
 * OS (mps-prot-native/src/main/c/mpsprot.h), so region creation and destruction, ProtSet, the
 * record, the mutator depth and the whole fault path are the same calls everywhere. A subclass
 * adds only what differs between OSes: {@link #mappings()}, {@link #failure}, the names of the
 * region-creation stages, {@link #probeBackends()} and {@link #kernel()}.
 *
 * <p>The constructor loads the shim and refuses one whose API version differs from the jar's.
 * Instances are stateless apart from the page size and thread-safe.
 */
public abstract class ShimProtOs implements ProtOs {
  /** The shim's region slots (mpsprot.h MPSPROT_MAX_REGIONS). */
  public static final int MAX_REGIONS = 1024;

  /** mpsprot.h MPSPROT_STAGE_SLOTS: no free region slot. */
  private static final int STAGE_SLOTS = 6;

  private final long pageSize;
  /** The backend's calls of the shim (docs/design/os.md .backend). */
  private final ShimCalls calls;

  /**
   * Loads the shim. {@code libraryFile} names the file expected under JNA's resource prefix
   * (such as {@code libmpsprot.so}), for the message when it is missing.
   *
   * @throws UnsatisfiedLinkError naming what is missing
   * @throws IllegalStateException when the shim's API version is not the jar's
   */
  protected ShimProtOs(String libraryFile) {
    int version;
    calls = NativeBackend.current().calls();
    try {
      version = calls.version();
    } catch (UnsatisfiedLinkError e) {
      throw new UnsatisfiedLinkError(
          "libmpsprot for " + com.sun.jna.Platform.RESOURCE_PREFIX + " is not on the class path"
              + " (expected " + com.sun.jna.Platform.RESOURCE_PREFIX + "/" + libraryFile + " from"
              + " mps-prot-native); build it with `mvn -q install -DskipTests`: " + e.getMessage());
    }
    if (version != CommonShim.API_VERSION) {
      throw new IllegalStateException(
          "libmpsprot API version " + version + " found, " + CommonShim.API_VERSION
              + " expected: the jar and the shim come from different builds; rebuild both");
    }
    pageSize = calls.pageSize();
  }

  /**
   * What the OS call behind region-creation stage {@code stage} (mpsprot.h's
   * {@code enum mpsprot_create_stage}, 1 to 5, 7 and 8) is on this OS, for the failure message.
   */
  protected abstract String createStage(int stage);

  @Override
  public String platform() {
    return com.sun.jna.Platform.RESOURCE_PREFIX;
  }

  @Override
  public long pageSize() {
    return pageSize;
  }

  @Override
  public void setup() {
    int err = calls.setup();
    if (err != 0) {
      throw failure(Operation.OTHER, "ProtSetup", err, 0, 0);
    }
  }

  @Override
  public boolean handlerInstalled() {
    return calls.handlerInstalled() != 0;
  }

  @Override
  public NativeRegion createRegion(long size) {
    long[] out = new long[4];
    int err = calls.regionCreate(size, out);
    if (err != 0) {
      int stage = (int) out[3];
      if (stage == STAGE_SLOTS) {
        throw new ProtOsException("reserve(" + size + " bytes) refused: " + regionCount()
            + " regions are live and the shim's region table holds at most " + MAX_REGIONS
            + " (a fixed table, so that the fault handler finds a region without locks;"
            + " this is not the file-descriptor limit, and ulimit -n does not change it)."
            + " What to do: close regions that are no longer needed, or reserve fewer, larger"
            + " regions.", err, "ENFILE");
      }
      String what = stage >= 1 && stage <= 5 || stage == 7 || stage == 8 ? createStage(stage)
          : "the shim's argument check";
      throw failure(Operation.RESERVE, "reserve(" + size + " bytes): " + what, err, 0, 0);
    }
    return new NativeRegion((int) out[0], out[1], out[2], size);
  }

  @Override
  public int regionCount() {
    return calls.regionCount();
  }

  @Override
  public void destroyRegion(int slot) {
    int err = calls.regionDestroy(slot);
    if (err != 0) {
      throw failure(Operation.CLOSE, "close of region slot " + slot, err, 0, 0);
    }
  }

  @Override
  public int protect(int slot, long offset, long length, int modeBits) {
    return calls.protect(slot, offset, length, modeBits);
  }

  @Override
  public int restoreState() {
    return calls.lastRestoreState();
  }

  @Override
  public long recordAddress(int slot) {
    return calls.regionRecord(slot);
  }

  @Override
  public ByteBuffer buffer(long address, long size) {
    return new Pointer(address).getByteBuffer(0, size);
  }

  @Override
  public int syncRegion(int slot, long base, boolean repair, long from, long[] out, int max, long[] result) {
    if (out.length < max * SYNC_RUN_WORDS || result.length < 2) {
      throw new IllegalArgumentException("out holds " + out.length / SYNC_RUN_WORDS + " runs, max is " + max);
    }
    return calls.regionSync(slot, base, repair ? 1 : 0, from, out, max, result);
  }

  @Override
  public int resetAlias(int slot) {
    return calls.regionAliasReset(slot);
  }

  @Override
  public void mutatorEnter() {
    calls.mutatorEnter();
  }

  @Override
  public void mutatorLeave() {
    calls.mutatorLeave();
  }

  @Override
  public int mutatorDepth() {
    return calls.mutatorDepth();
  }

  @Override
  public int uninstall() {
    return calls.uninstall();
  }

  @Override
  public int setPolicy(int slot, int policy, int fallback) {
    return calls.regionSetPolicy(slot, policy, fallback);
  }

  @Override
  public ByteBuffer bitmap(int slot, int which, long pages) {
    long words = (pages + 63) / 64;
    return buffer(calls.regionBitmap(slot, which), words * 8);
  }

  @Override
  public int harvest(int slot, long first, long count, int modeAfter, long[] out, long[] found) {
    return calls.harvest(slot, first, count, modeAfter, out, found);
  }

  @Override
  public int harvestTouched(int slot, long first, long count, int modeAfter, long[] out, long[] found) {
    return calls.harvestTouched(slot, first, count, modeAfter, out, found);
  }

  @Override
  public int drainLog(int slot, ByteBuffer out, int max) {
    return calls.logDrain(slot, out, max);
  }

  @Override
  public int handoffWait(int timeoutMs) {
    return calls.handoffWait(timeoutMs);
  }

  @Override
  public long handoffContext(int ticket) {
    return calls.handoffContext(ticket);
  }

  @Override
  public int handoffResolve(int ticket, int outcome) {
    return calls.handoffResolve(ticket, outcome);
  }

  @Override
  public int handoffParked(long[] out, int max) {
    return calls.handoffParked(out, max);
  }

  @Override
  public long counter(int which) {
    return calls.counter(which);
  }

  @Override
  public int canStep(long ctx) {
    return calls.contextCanStep(ctx);
  }

  @Override
  public int step(long ctx) {
    return calls.contextStep(ctx);
  }

  @Override
  public int sampleFaults(int period) {
    return calls.faultRingSample(period);
  }

  @Override
  public int drainFaultRing(long[] out, int max) {
    if (out.length < (long) max * FAULT_RING_WORDS) {
      throw new IllegalArgumentException("out holds " + out.length / FAULT_RING_WORDS + " records, max is " + max);
    }
    return calls.faultRingDrain(out, max);
  }

  @Override
  public long faultRingDropped() {
    return calls.faultRingDropped();
  }

  @Override
  public long handoffParkedNs(int ticket) {
    return calls.handoffParkedNs(ticket);
  }
}
