package org.mpsprot.os;

/**
 * The shim's common API (mps-prot-native/src/main/c/mpsprot.h) as {@link ShimProtOs} calls it,
 * one implementation per native backend (docs/design/os.md .backend): {@link JnaShimCalls}
 * (JNA direct mapping, every JDK) and {@code FfmShimCalls} (java.lang.foreign downcalls, JDK 22+,
 * in the jar's {@code META-INF/versions/22}). Both call the one loaded copy of the shim
 * ({@link ShimLibrary#INSTANCE}).
 *
 * <p>Arrays and buffers are the caller's: an implementation copies what it must and allocates
 * nothing on the calls that are made per request ({@link #protect}). Thread-safe.
 */
interface ShimCalls {
  int version();

  long pageSize();

  int setup();

  int handlerInstalled();

  int regionCreate(long size, long[] out);

  int regionDestroy(int slot);

  int regionCount();

  /**
   * mpsprot_protect; on failure the restore state (mpsprot.h MPSPROT_RESTORED, _ADOPTED,
   * _WIDENED) is this thread's {@link #lastRestoreState()} until its next protect.
   */
  int protect(int slot, long offset, long length, int mode);

  /** The restore state the calling thread's last failed {@link #protect} reported. */
  int lastRestoreState();

  long regionRecord(int slot);

  int regionAliasReset(int slot);

  int regionSync(int slot, long base, int repair, long from, long[] out, int max, long[] result);

  void mutatorEnter();

  void mutatorLeave();

  int mutatorDepth();

  int uninstall();

  int regionSetPolicy(int slot, int policy, int fallback);

  long regionBitmap(int slot, int which);

  int harvest(int slot, long first, long count, int modeAfter, long[] out, long[] found);

  /** mpsprot_harvest_touched: as {@link #harvest} over the touched bits. */
  int harvestTouched(int slot, long first, long count, int modeAfter, long[] out, long[] found);

  /** out: a direct buffer. */
  int logDrain(int slot, java.nio.ByteBuffer out, int max);

  int handoffWait(int timeoutMs);

  long handoffContext(int ticket);

  int handoffResolve(int ticket, int outcome);

  int handoffParked(long[] out, int max);

  long counter(int which);

  int contextCanStep(long ctx);

  int contextStep(long ctx);

  /** mpsprot_fault_ring_sample: the previous period, or -1 for a negative one. */
  int faultRingSample(int period);

  /** mpsprot_fault_ring_drain into out (MPSPROT_FAULT_RING_WORDS words per record). */
  int faultRingDrain(long[] out, int max);

  long faultRingDropped();

  long handoffParkedNs(int ticket);

  /** See {@link NativeBackend#downcall}; null unless the backend is FFM. */
  default java.lang.invoke.MethodHandle downcall(String name, java.lang.invoke.MethodType type) {
    return null;
  }
}
