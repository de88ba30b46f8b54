package org.mpsprot;

import java.util.concurrent.Callable;
import org.mpsprot.core.ProtModule;

/**
 * The protection module: the MPS protection interface for a Java collector or runtime
 * (docs/design/prot.md). There is one module per process; {@link #setup()} returns it.
 *
 * <table>
 *   <caption>MPS names</caption>
 *   <tr><th>MPS</th><th>here</th></tr>
 *   <tr><td>ProtSetup</td><td>{@link #setup()}</td></tr>
 *   <tr><td>ProtGranularity</td><td>{@link #granularity()}</td></tr>
 *   <tr><td>ProtSet</td><td>{@link #set(long, long, AccessSet)}</td></tr>
 *   <tr><td>ProtSync</td><td>{@link #sync()}</td></tr>
 *   <tr><td>ProtTramp</td><td>{@link #tramp(Callable)}</td></tr>
 * </table>
 *
 * <p>The module changes the protection only of memory it allocated itself: every range passed
 * to {@link #set} lies inside one live {@link Region} from {@link #reserve(long)}
 * (.rule.owned). It never grants execute permission (.rule.noexec).
 *
 * <p>Thread-safety: every method may be called from any thread. Changes of protection are
 * serialised by the module, so that the record and the OS agree at every return; a thread
 * that reads a page after another thread's {@link #set} returned sees the new protection
 * (the system call is a full barrier).
 */
public interface Prot extends Protections {

  /**
   * ProtSetup (.if.setup): loads the shim and prepares the module for this process. Idempotent
   * and thread-safe: every call returns the same module, and nothing is installed twice.
   *
   * @throws UnsupportedOperationException on an OS the module has no implementation for
   */
  static Prot setup() {
    return ProtModule.instance();
  }

  /**
   * Reserves a region of at least {@code size} bytes (rounded up to the granularity), mapped
   * twice: the mutator's view, read-write until {@link #set} changes it, and the collector's
   * alias view, always read-write (.sol.alias). The memory is zeroed. Each view is followed
   * by an inaccessible guard page, and the module's bookkeeping lies apart from both, so an
   * overrun faults (.sol.guard). A forked child process inherits no region (.sol.fork).
   *
   * <p>Limits: a region has at most {@link org.mpsprot.model.RangeRules#MAX_REGION_PAGES}
   * ({@code Integer.MAX_VALUE}) pages, 8 TiB less one page with 4 KiB pages, so that its
   * per-page record fits one buffer; at most 1024 regions are live at once in the process
   * (the shim's fixed region table, which the fault handler reads without locks; this is not
   * the file-descriptor limit: a region keeps no descriptor open). A size or a count beyond
   * them is refused with nothing left behind: no mapping, no slot.
   *
   * <p>Close the region when done ({@link Region#close()}, try-with-resources). One that
   * becomes unreachable without it is closed by a {@link java.lang.ref.Cleaner}, with a warning,
   * once neither it nor a {@code ByteBuffer} view of it is reachable (.sol.cleaner, see
   * {@link Region}).
   *
   * @throws ProtRangeException if size is not positive, cannot be rounded up, or is more than
   *     the most pages a region may have; before any system call
   * @throws ProtOsException if the OS cannot map it (errno name and advice in the message), or
   *     with errno ENFILE when 1024 regions are live (close some first)
   */
  Region reserve(long size);

  /**
   * ProtSync (.if.sync): compares the OS's real protection of every page of every live region
   * (on Linux, from /proc/self/maps) with the record, re-applies the record where they differ,
   * and reports what differed and what it repaired. Its cost follows the mappings and the
   * differing pages, not the size of the regions. It holds no lock of the module while it scans
   * (faults, ProtSet and harvests go on) and reports only differences it confirmed while holding
   * their pages, so the module's own concurrent changes are never reported. Pages that are no
   * longer a region's (unmapped, or replaced by an outside mmap MAP_FIXED) are reported as
   * {@link SyncReport.Kind#UNMAPPED} or {@link SyncReport.Kind#REPLACED}, never repaired, and
   * from then on left alone: {@link #set}, harvest and close refuse or skip them.
   *
   * @throws ProtOsException if the OS's protection cannot be read (differences already
   *     repaired stay repaired)
   */
  SyncReport sync();

  /**
   * ProtTramp (.if.tramp): runs {@code mutator} on the calling thread as a registered mutator
   * of the module for its duration (nested calls nest), and returns its result. Exceptions
   * from the mutator propagate unchanged; the registration ends either way.
   *
   * <p>What the registration does, and all it does: the fault handler reads it, so a fault the
   * thread takes meanwhile says so: {@link MutatorFaultContext#registeredMutator()} is true for
   * the {@link FaultHandler} of a {@link BarrierPolicy#HANDOFF} region, and a fail-fast message
   * names the thread "a registered mutator inside Prot.tramp". It changes no policy's decision:
   * faults are handled the same inside and outside (with vectored handlers and signals no
   * special frame is needed, as MPS's ProtTramp once provided), and it does not make a Java
   * thread a native mutator (docs/design/fault.md .rule.native).
   */
  <T> T tramp(Callable<T> mutator) throws Exception;

  /** Whether the calling thread is inside {@link #tramp}. */
  boolean isMutatorThread();

  /**
   * A batch of protection changes applied together: requests are sorted and adjacent runs with
   * the same mode are coalesced, so that {@link ProtBatch#apply()} makes as few OS calls as
   * possible (MPS's shield does the same with its queue).
   */
  ProtBatch batch();

  /** Number of OS protection calls this module made (for tests and benchmarks). */
  long osProtectCalls();

  /** Whether the module's fault handler is installed in this process. */
  boolean handlerInstalled();

  /** The fault path's counters since setup. */
  FaultCounters counters();

  /**
   * Restores the fault handlers that were installed before {@link #setup()} (docs/design/fault.md
   * .if.uninstall). A later {@link #reserve} installs the module's handler again. A refusal
   * changes nothing.
   *
   * @throws IllegalStateException while any region is live (close them first), or when another
   *     SIGSEGV/SIGBUS handler was installed over the module's since setup (Linux, macOS:
   *     removing ours would remove it; whoever installed it must restore what it replaced
   *     first); the message says which
   * @throws ProtOsException if the OS refused to restore the previous handlers
   */
  void uninstallHandler();

  /**
   * The watchdog of the handoff: every mutator parked longer than {@code bound} waiting for a
   * Java {@link FaultHandler} is reported to {@code sink} (thread id, address, duration), once.
   * Default: 5 seconds, to stderr. The sink is called on the watchdog thread; a sink that throws
   * is contained: that report goes to stderr instead, the sink's exception is printed there the
   * first time that sink throws, and the watchdog goes on. This call (re)starts the watchdog
   * thread if it is not running. Thread-safe.
   */
  void setWatchdog(java.time.Duration bound, java.util.function.Consumer<String> sink);

  /**
   * Registers the module's counters as a platform MXBean ({@link ProtMXBean}, ObjectName
   * {@value ProtMXBean#OBJECT_NAME}) with {@code ManagementFactory.getPlatformMBeanServer()}, so
   * that JConsole and JDK Mission Control show them (docs/design/fault.md .mxbean). Opt-in: nothing
   * is registered until this is called. Idempotent and thread-safe: a second call returns the same
   * name and registers nothing (unless the bean was unregistered behind the module's back through
   * the MBean server: then it is registered again).
   *
   * @return the name it is registered under
   * @throws IllegalStateException when another MBean, not this module's, holds that name (another
   *     copy of the module in another class loader, say); nothing is registered then
   */
  javax.management.ObjectName registerMXBean();

  /**
   * Unregisters the bean of {@link #registerMXBean()}; returns false (and does nothing) when this
   * module's bean is not registered. Thread-safe.
   */
  boolean unregisterMXBean();
}
