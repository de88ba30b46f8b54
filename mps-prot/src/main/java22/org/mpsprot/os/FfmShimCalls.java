package org.mpsprot.os;

import com.sun.jna.Pointer;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;

/**
 * {@link ShimCalls} through java.lang.foreign downcalls (JDK 22+; docs/design/os.md .backend),
 * in the jar's {@code META-INF/versions/22}. Chosen by {@link NativeBackend}.
 *
 * <p>One copy of the shim: each downcall is bound to the address of the function in the library
 * that JNA loaded ({@link ShimLibrary#INSTANCE}, {@code NativeLibrary.getFunction}), not to a
 * second load of the file, so the region table, the fault handler and the accessor section are
 * the same whichever backend calls them.
 *
 * <p>Linker options, per downcall (design/fault.md .rule.native: a critical downcall keeps the
 * thread in Java state, so it must neither block nor fault into a HANDOFF park, nor wait on a
 * page's BUSY bit, which a thread parked in the handler may hold):
 * <ul>
 *   <li>{@code Linker.Option.critical(false)} (no state transition, no heap access): only the
 *       functions that read a word and return at once, taking no lock and waiting for nothing:
 *       {@code mpsprot_version}, {@code _page_size}, {@code _handler_installed},
 *       {@code _region_count}, {@code _mutator_enter}, {@code _mutator_leave},
 *       {@code _mutator_depth}, {@code _counter}, {@code _handoff_context},
 *       {@code _fault_ring_sample}, {@code _fault_ring_dropped}, {@code _handoff_parked_ns}
 *       (a word, a clock read).
 *   <li>No option (the thread is in native state for the call): everything else.
 *       {@code mpsprot_protect}, {@code _harvest}, {@code _harvest_touched}, {@code _region_sync}, {@code _log_drain},
 *       {@code _region_alias_reset} take pages' BUSY bits or pin a slot and may wait for a
 *       holder; {@code _region_create}, {@code _region_destroy} (waits for pins),
 *       {@code _setup}, {@code _uninstall} and {@code _region_set_policy} make system calls or
 *       take the shim's locks; {@code _handoff_wait} blocks; {@code _handoff_resolve} and
 *       {@code _handoff_parked} take the handoff's lock and wake a futex;
 *       {@code _context_can_step} and {@code _context_step} read and write the mutator's memory
 *       (stepping may fault); {@code _region_record} and {@code _region_bitmap} pin the slot;
 *       {@code _fault_ring_drain} copies records into native memory the call allocates. The
 *       accessors and the benchmark functions ({@link #downcall}) are never critical: an accessor
 *       may fault into a HANDOFF park, which is safe only in native state.
 * </ul>
 * Arrays cross through native memory of a confined arena per call (the calls that take arrays
 * are not per request); {@link #protect} allocates nothing: its restore flag is a native int
 * per thread. Thread-safe.
 */
final class FfmShimCalls implements ShimCalls {
  /** First: nothing restricted is called unless native access is enabled. */
  private static final boolean ACCESS = checkNativeAccess();
  private static final Linker LINKER = Linker.nativeLinker();
  private static final Linker.Option[] CRITICAL = {Linker.Option.critical(false)};
  private static final Linker.Option[] NONE = {};

  private static final MethodHandle VERSION = bind("mpsprot_version", CRITICAL, int.class);
  private static final MethodHandle PAGE_SIZE = bind("mpsprot_page_size", CRITICAL, long.class);
  private static final MethodHandle SETUP = bind("mpsprot_setup", NONE, int.class);
  private static final MethodHandle HANDLER_INSTALLED = bind("mpsprot_handler_installed", CRITICAL, int.class);
  private static final MethodHandle REGION_CREATE = bind("mpsprot_region_create", NONE, int.class, long.class, long.class);
  private static final MethodHandle REGION_DESTROY = bind("mpsprot_region_destroy", NONE, int.class, int.class);
  private static final MethodHandle REGION_COUNT = bind("mpsprot_region_count", CRITICAL, int.class);
  private static final MethodHandle PROTECT =
      bind("mpsprot_protect", NONE, int.class, int.class, long.class, long.class, int.class, long.class);
  private static final MethodHandle REGION_RECORD = bind("mpsprot_region_record", NONE, long.class, int.class);
  private static final MethodHandle ALIAS_RESET = bind("mpsprot_region_alias_reset", NONE, int.class, int.class);
  private static final MethodHandle REGION_SYNC = bind("mpsprot_region_sync", NONE, int.class, int.class,
      long.class, int.class, long.class, long.class, int.class, long.class);
  private static final MethodHandle MUTATOR_ENTER = bind("mpsprot_mutator_enter", CRITICAL, void.class);
  private static final MethodHandle MUTATOR_LEAVE = bind("mpsprot_mutator_leave", CRITICAL, void.class);
  private static final MethodHandle MUTATOR_DEPTH = bind("mpsprot_mutator_depth", CRITICAL, int.class);
  private static final MethodHandle UNINSTALL = bind("mpsprot_uninstall", NONE, int.class);
  private static final MethodHandle SET_POLICY =
      bind("mpsprot_region_set_policy", NONE, int.class, int.class, int.class, int.class);
  private static final MethodHandle REGION_BITMAP = bind("mpsprot_region_bitmap", NONE, long.class, int.class, int.class);
  private static final MethodHandle HARVEST = bind("mpsprot_harvest", NONE, int.class, int.class, long.class,
      long.class, int.class, long.class, long.class);
  private static final MethodHandle HARVEST_TOUCHED = bind("mpsprot_harvest_touched", NONE, int.class, int.class,
      long.class, long.class, int.class, long.class, long.class);
  private static final MethodHandle LOG_DRAIN = bind("mpsprot_log_drain", NONE, int.class, int.class, long.class, int.class);
  private static final MethodHandle HANDOFF_WAIT = bind("mpsprot_handoff_wait", NONE, int.class, int.class);
  private static final MethodHandle HANDOFF_CONTEXT = bind("mpsprot_handoff_context", CRITICAL, long.class, int.class);
  private static final MethodHandle HANDOFF_RESOLVE = bind("mpsprot_handoff_resolve", NONE, int.class, int.class, int.class);
  private static final MethodHandle HANDOFF_PARKED = bind("mpsprot_handoff_parked", NONE, int.class, long.class, int.class);
  private static final MethodHandle COUNTER = bind("mpsprot_counter", CRITICAL, long.class, int.class);
  private static final MethodHandle CAN_STEP = bind("mpsprot_context_can_step", NONE, int.class, long.class);
  private static final MethodHandle STEP = bind("mpsprot_context_step", NONE, int.class, long.class);
  private static final MethodHandle RING_SAMPLE = bind("mpsprot_fault_ring_sample", CRITICAL, int.class, int.class);
  private static final MethodHandle RING_DRAIN = bind("mpsprot_fault_ring_drain", NONE, int.class, long.class, int.class);
  private static final MethodHandle RING_DROPPED = bind("mpsprot_fault_ring_dropped", CRITICAL, long.class);
  private static final MethodHandle PARKED_NS = bind("mpsprot_handoff_parked_ns", CRITICAL, long.class, int.class);

  /** One native int per thread for mpsprot_protect's restore flag. */
  private static final ThreadLocal<MemorySegment> RESTORE_FLAG =
      ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(ValueLayout.JAVA_INT));

  private FfmShimCalls() {}

  /**
   * The backend, for {@link NativeBackend}; the class's initialiser has checked native access
   * and bound every downcall by then.
   *
   * @throws ExceptionInInitializerError whose cause is an {@link IllegalStateException} naming
   *     the flag to pass when native access is not enabled for this code; the caller then uses JNA
   */
  static FfmShimCalls create() {
    return new FfmShimCalls();
  }

  /** Lucene's way: no restricted call (no warning, no refusal) unless access is enabled. */
  private static boolean checkNativeAccess() {
    Module module = FfmShimCalls.class.getModule();
    if (!module.isNativeAccessEnabled()) {
      throw new IllegalStateException("native access is not enabled for "
          + (module.isNamed() ? "module " + module.getName() : "the class path (the unnamed module)")
          + ", so the FFM backend is not used: pass --enable-native-access="
          + (module.isNamed() ? module.getName() : "ALL-UNNAMED")
          + " to java (java -jar mps-prot.jar has it from the jar's manifest)");
    }
    return true;
  }

  private static long address(String name) {
    return Pointer.nativeValue(ShimLibrary.INSTANCE.getFunction(name));
  }

  private static MemoryLayout layout(Class<?> c) {
    if (c == long.class) {
      return ValueLayout.JAVA_LONG;
    } else if (c == int.class) {
      return ValueLayout.JAVA_INT;
    } else if (c == short.class) {
      return ValueLayout.JAVA_SHORT;
    } else if (c == byte.class) {
      return ValueLayout.JAVA_BYTE;
    } else if (c == double.class) {
      return ValueLayout.JAVA_DOUBLE;
    }
    throw new IllegalArgumentException("no layout for " + c);
  }

  private static MethodHandle bind(String name, Linker.Option[] options, MethodType type) {
    MemoryLayout[] args = new MemoryLayout[type.parameterCount()];
    for (int i = 0; i < args.length; i++) {
      args[i] = layout(type.parameterType(i));
    }
    FunctionDescriptor fd = type.returnType() == void.class ? FunctionDescriptor.ofVoid(args)
        : FunctionDescriptor.of(layout(type.returnType()), args);
    return LINKER.downcallHandle(MemorySegment.ofAddress(address(name)), fd, options);
  }

  private static MethodHandle bind(String name, Linker.Option[] options, Class<?> ret, Class<?>... args) {
    return bind(name, options, MethodType.methodType(ret, args));
  }

  @Override
  public MethodHandle downcall(String name, MethodType type) {
    return bind(name, NONE, type);
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new IllegalStateException("a downcall of the shim threw " + t, t);
  }

  private static MemorySegment longs(Arena arena, long[] a, int n) {
    return arena.allocate(ValueLayout.JAVA_LONG, Math.max(1, n));
  }

  private static void copyOut(MemorySegment seg, long[] a, int n) {
    MemorySegment.copy(seg, ValueLayout.JAVA_LONG, 0, a, 0, n);
  }

  @Override
  public int version() {
    try {
      return (int) VERSION.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public long pageSize() {
    try {
      return (long) PAGE_SIZE.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int setup() {
    try {
      return (int) SETUP.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int handlerInstalled() {
    try {
      return (int) HANDLER_INSTALLED.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int regionCreate(long size, long[] out) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment o = longs(arena, out, out.length);
      int err = (int) REGION_CREATE.invokeExact(size, o.address());
      copyOut(o, out, out.length);
      return err;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int regionDestroy(int slot) {
    try {
      return (int) REGION_DESTROY.invokeExact(slot);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int regionCount() {
    try {
      return (int) REGION_COUNT.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int protect(int slot, long offset, long length, int mode) {
    try {
      return (int) PROTECT.invokeExact(slot, offset, length, mode, RESTORE_FLAG.get().address());
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int lastRestoreState() {
    return RESTORE_FLAG.get().get(ValueLayout.JAVA_INT, 0);
  }

  @Override
  public long regionRecord(int slot) {
    try {
      return (long) REGION_RECORD.invokeExact(slot);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int regionAliasReset(int slot) {
    try {
      return (int) ALIAS_RESET.invokeExact(slot);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int regionSync(int slot, long base, int repair, long from, long[] out, int max, long[] result) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment o = longs(arena, out, out.length);
      MemorySegment r = longs(arena, result, result.length);
      int err = (int) REGION_SYNC.invokeExact(slot, base, repair, from, o.address(), max, r.address());
      copyOut(o, out, out.length);
      copyOut(r, result, result.length);
      return err;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public void mutatorEnter() {
    try {
      MUTATOR_ENTER.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public void mutatorLeave() {
    try {
      MUTATOR_LEAVE.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int mutatorDepth() {
    try {
      return (int) MUTATOR_DEPTH.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int uninstall() {
    try {
      return (int) UNINSTALL.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int regionSetPolicy(int slot, int policy, int fallback) {
    try {
      return (int) SET_POLICY.invokeExact(slot, policy, fallback);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public long regionBitmap(int slot, int which) {
    try {
      return (long) REGION_BITMAP.invokeExact(slot, which);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int harvest(int slot, long first, long count, int modeAfter, long[] out, long[] found) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment o = longs(arena, out, out.length);
      MemorySegment f = longs(arena, found, found.length);
      int err = (int) HARVEST.invokeExact(slot, first, count, modeAfter, o.address(), f.address());
      copyOut(o, out, out.length);
      copyOut(f, found, found.length);
      return err;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int harvestTouched(int slot, long first, long count, int modeAfter, long[] out, long[] found) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment o = longs(arena, out, out.length);
      MemorySegment f = longs(arena, found, found.length);
      int err = (int) HARVEST_TOUCHED.invokeExact(slot, first, count, modeAfter, o.address(), f.address());
      copyOut(o, out, out.length);
      copyOut(f, found, found.length);
      return err;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int logDrain(int slot, ByteBuffer out, int max) {
    if (!out.isDirect()) {
      throw new IllegalArgumentException("logDrain needs a direct buffer");
    }
    try {
      return (int) LOG_DRAIN.invokeExact(slot, MemorySegment.ofBuffer(out).address(), max);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int handoffWait(int timeoutMs) {
    try {
      return (int) HANDOFF_WAIT.invokeExact(timeoutMs);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public long handoffContext(int ticket) {
    try {
      return (long) HANDOFF_CONTEXT.invokeExact(ticket);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int handoffResolve(int ticket, int outcome) {
    try {
      return (int) HANDOFF_RESOLVE.invokeExact(ticket, outcome);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int handoffParked(long[] out, int max) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment o = longs(arena, out, out.length);
      int n = (int) HANDOFF_PARKED.invokeExact(o.address(), max);
      copyOut(o, out, out.length);
      return n;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public long counter(int which) {
    try {
      return (long) COUNTER.invokeExact(which);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int contextCanStep(long ctx) {
    try {
      return (int) CAN_STEP.invokeExact(ctx);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int contextStep(long ctx) {
    try {
      return (int) STEP.invokeExact(ctx);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int faultRingSample(int period) {
    try {
      return (int) RING_SAMPLE.invokeExact(period);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public int faultRingDrain(long[] out, int max) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment o = longs(arena, out, out.length);
      int n = (int) RING_DRAIN.invokeExact(o.address(), max);
      copyOut(o, out, out.length);
      return n;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public long faultRingDropped() {
    try {
      return (long) RING_DROPPED.invokeExact();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public long handoffParkedNs(int ticket) {
    try {
      return (long) PARKED_NS.invokeExact(ticket);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }
}
