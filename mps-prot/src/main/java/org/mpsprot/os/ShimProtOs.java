package org.mpsprot.os;

import com.sun.jna.Memory;
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

  /**
   * Loads the shim. {@code libraryFile} names the file expected under JNA's resource prefix
   * (such as {@code libmpsprot.so}), for the message when it is missing.
   *
   * @throws UnsatisfiedLinkError naming what is missing
   * @throws IllegalStateException when the shim's API version is not the jar's
   */
  protected ShimProtOs(String libraryFile) {
    int version;
    try {
      version = CommonShim.mpsprot_version();
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
    pageSize = CommonShim.mpsprot_page_size();
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
    int err = CommonShim.mpsprot_setup();
    if (err != 0) {
      throw failure(Operation.OTHER, "ProtSetup", err, 0, 0);
    }
  }

  @Override
  public boolean handlerInstalled() {
    return CommonShim.mpsprot_handler_installed() != 0;
  }

  @Override
  public NativeRegion createRegion(long size) {
    long[] out = new long[4];
    int err = CommonShim.mpsprot_region_create(size, out);
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
    return CommonShim.mpsprot_region_count();
  }

  @Override
  public void destroyRegion(int slot) {
    int err = CommonShim.mpsprot_region_destroy(slot);
    if (err != 0) {
      throw failure(Operation.CLOSE, "close of region slot " + slot, err, 0, 0);
    }
  }

  /** One native int per thread for mpsprot_protect's restore flag, so a call copies no array. */
  private static final ThreadLocal<Memory> RESTORE_FLAG = ThreadLocal.withInitial(() -> new Memory(4));

  @Override
  public int protect(int slot, long offset, long length, int modeBits, int[] restoreFailed) {
    Memory flag = RESTORE_FLAG.get();
    int err = CommonShim.mpsprot_protect(slot, offset, length, modeBits, Pointer.nativeValue(flag));
    if (err != 0) {
      restoreFailed[0] = flag.getInt(0);
    }
    return err;
  }

  @Override
  public long recordAddress(int slot) {
    return CommonShim.mpsprot_region_record(slot);
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
    return CommonShim.mpsprot_region_sync(slot, base, repair ? 1 : 0, from, out, max, result);
  }

  @Override
  public int resetAlias(int slot) {
    return CommonShim.mpsprot_region_alias_reset(slot);
  }

  @Override
  public void mutatorEnter() {
    CommonShim.mpsprot_mutator_enter();
  }

  @Override
  public void mutatorLeave() {
    CommonShim.mpsprot_mutator_leave();
  }

  @Override
  public int mutatorDepth() {
    return CommonShim.mpsprot_mutator_depth();
  }

  @Override
  public int uninstall() {
    return CommonShim.mpsprot_uninstall();
  }

  @Override
  public int setPolicy(int slot, int policy, int fallback) {
    return CommonShim.mpsprot_region_set_policy(slot, policy, fallback);
  }

  @Override
  public ByteBuffer bitmap(int slot, int which, long pages) {
    long words = (pages + 63) / 64;
    return buffer(CommonShim.mpsprot_region_bitmap(slot, which), words * 8);
  }

  @Override
  public int harvest(int slot, long first, long count, int modeAfter, long[] out, long[] found) {
    return CommonShim.mpsprot_harvest(slot, first, count, modeAfter, out, found);
  }

  @Override
  public int drainLog(int slot, ByteBuffer out, int max) {
    return CommonShim.mpsprot_log_drain(slot, out, max);
  }

  @Override
  public int handoffWait(int timeoutMs) {
    return CommonShim.mpsprot_handoff_wait(timeoutMs);
  }

  @Override
  public long handoffContext(int ticket) {
    return CommonShim.mpsprot_handoff_context(ticket);
  }

  @Override
  public int handoffResolve(int ticket, int outcome) {
    return CommonShim.mpsprot_handoff_resolve(ticket, outcome);
  }

  @Override
  public int handoffParked(long[] out, int max) {
    return CommonShim.mpsprot_handoff_parked(out, max);
  }

  @Override
  public long counter(int which) {
    return CommonShim.mpsprot_counter(which);
  }

  @Override
  public int canStep(long ctx) {
    return CommonShim.mpsprot_context_can_step(ctx);
  }

  @Override
  public int step(long ctx) {
    return CommonShim.mpsprot_context_step(ctx);
  }
}
