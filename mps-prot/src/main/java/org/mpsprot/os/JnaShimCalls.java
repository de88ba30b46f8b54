package org.mpsprot.os;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/**
 * {@link ShimCalls} through JNA direct mapping ({@link CommonShim}): the backend on JDK 17-21,
 * and on JDK 22+ when chosen with {@code -Dmpsprot.backend=jna} or when the FFM backend cannot
 * be used (docs/design/os.md .backend). A JNA direct call puts the thread in native state for
 * the call, so every function may block or fault (.rule.native). Thread-safe.
 */
final class JnaShimCalls implements ShimCalls {
  /** One native int per thread for mpsprot_protect's restore flag, so a call copies no array. */
  private static final ThreadLocal<Pointer> RESTORE_FLAG = ThreadLocal.withInitial(() -> new Memory(4));

  @Override
  public int version() {
    return CommonShim.mpsprot_version();
  }

  @Override
  public long pageSize() {
    return CommonShim.mpsprot_page_size();
  }

  @Override
  public int setup() {
    return CommonShim.mpsprot_setup();
  }

  @Override
  public int handlerInstalled() {
    return CommonShim.mpsprot_handler_installed();
  }

  @Override
  public int regionCreate(long size, long[] out) {
    return CommonShim.mpsprot_region_create(size, out);
  }

  @Override
  public int regionDestroy(int slot) {
    return CommonShim.mpsprot_region_destroy(slot);
  }

  @Override
  public int regionCount() {
    return CommonShim.mpsprot_region_count();
  }

  @Override
  public int protect(int slot, long offset, long length, int mode) {
    return CommonShim.mpsprot_protect(slot, offset, length, mode, Pointer.nativeValue(RESTORE_FLAG.get()));
  }

  @Override
  public int lastRestoreState() {
    return RESTORE_FLAG.get().getInt(0);
  }

  @Override
  public long regionRecord(int slot) {
    return CommonShim.mpsprot_region_record(slot);
  }

  @Override
  public int regionAliasReset(int slot) {
    return CommonShim.mpsprot_region_alias_reset(slot);
  }

  @Override
  public int regionSync(int slot, long base, int repair, long from, long[] out, int max, long[] result) {
    return CommonShim.mpsprot_region_sync(slot, base, repair, from, out, max, result);
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
  public int regionSetPolicy(int slot, int policy, int fallback) {
    return CommonShim.mpsprot_region_set_policy(slot, policy, fallback);
  }

  @Override
  public long regionBitmap(int slot, int which) {
    return CommonShim.mpsprot_region_bitmap(slot, which);
  }

  @Override
  public int harvest(int slot, long first, long count, int modeAfter, long[] out, long[] found) {
    return CommonShim.mpsprot_harvest(slot, first, count, modeAfter, out, found);
  }

  @Override
  public int harvestTouched(int slot, long first, long count, int modeAfter, long[] out, long[] found) {
    return CommonShim.mpsprot_harvest_touched(slot, first, count, modeAfter, out, found);
  }

  @Override
  public int logDrain(int slot, java.nio.ByteBuffer out, int max) {
    if (!out.isDirect() || out.capacity() < 32L * max) {
      throw new IllegalArgumentException("logDrain needs a direct buffer of at least " + 32L * max
          + " bytes, got " + out);
    }
    long address = com.sun.jna.Pointer.nativeValue(com.sun.jna.Native.getDirectBufferPointer(out));
    try {
      return CommonShim.mpsprot_log_drain(slot, address, max);
    } finally {
      java.lang.ref.Reference.reachabilityFence(out);
    }
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
  public int contextCanStep(long ctx) {
    return CommonShim.mpsprot_context_can_step(ctx);
  }

  @Override
  public int contextStep(long ctx) {
    return CommonShim.mpsprot_context_step(ctx);
  }

  @Override
  public int faultRingSample(int period) {
    return CommonShim.mpsprot_fault_ring_sample(period);
  }

  @Override
  public int faultRingDrain(long[] out, int max) {
    return CommonShim.mpsprot_fault_ring_drain(out, max);
  }

  @Override
  public long faultRingDropped() {
    return CommonShim.mpsprot_fault_ring_dropped();
  }

  @Override
  public long handoffParkedNs(int ticket) {
    return CommonShim.mpsprot_handoff_parked_ns(ticket);
  }
}
