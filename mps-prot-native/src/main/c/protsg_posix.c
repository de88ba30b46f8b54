/* protsg_posix.c -- the fault handler for Linux and macOS (MPS: protsgix.c), ProtSetup's
 * native half
 *
 * Assumes POSIX signals with SA_SIGINFO, SA_ONSTACK and SA_NODEFER, and a ucontext_t
 * whose uc_sigmask is the mask the thread had when the signal arrived.  Where Linux and
 * macOS differ (which signals may be a protection fault, which were sent, how one
 * thread's mask is changed), this file asks the hooks of protsg_posix.h, which
 * protsg_linux.c and protsg_darwin.c (NOT VERIFIED HERE) define (docs/design/os.md
 * .os.posix).
 *
 * mpsprot_setup runs osdep_init (macOS: the pthread keys of the thread-local words;
 * nothing on Linux), then installs one handler for SIGSEGV and SIGBUS with
 * SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER (never SA_RESETHAND: the handler
 * stays for every fault) and keeps the actions it replaced.  A signal that the OS calls a
 * candidate (protsg_os_candidate: Linux, a SIGSEGV with SEGV_ACCERR; macOS, any SIGSEGV
 * or SIGBUS) whose address lies in a live region's mutator view is the module's
 * (barrier.c); so is none that is an instruction fetch (prmc_capture says PRMC_NOT_DATA:
 * the module never grants execute).  Every other signal goes to the previous action
 * unchanged (design .rule.chain; docs/design/fault.md .handler.chain): the same signal,
 * siginfo and ucontext, in the previous handler's own calling convention.  MPS re-raises
 * with kill(), losing the context; the JVM's handler (implicit null checks, stack
 * banging, safepoint polls) needs the real one.
 *
 * The previous handler runs as the kernel would have run it (fault.md .handler.flags):
 * - its signal mask is the thread's mask when the signal arrived (uc_sigmask), plus its
 *   sa_mask, plus the signal itself unless it has SA_NODEFER; ours is put back after;
 * - SA_RESETHAND: the first signal that reaches it makes the saved previous action
 *   SIG_DFL for every later chained signal (one atomic flag per signal, set with an
 *   exchange, so exactly one thread calls it, as one delivery would; no lock).  Our
 *   handler stays installed for the module's own faults, and mpsprot_uninstall then
 *   restores SIG_DFL, which is what the kernel would hold by now.
 *
 * Nesting (fault.md .handler.nest): a fault may arrive while a handler frame is already
 * on the thread's stack (inside a previous handler with SA_NODEFER, inside a signal
 * handler that interrupts a HANDOFF park).  Hence SA_NODEFER: SIGSEGV and SIGBUS stay
 * unblocked while our handler runs (a fault raised while they are blocked kills the
 * process).  Every other asynchronous signal is blocked while our handler runs (its
 * sa_mask: all but the signals an instruction raises), so no signal handler can run on
 * this thread while our frame holds a page's BUSY bit or a half-written log cell: a
 * nested fault never waits for the frame it interrupted.  The HANDOFF park, the one long
 * wait, opens the mask the thread had when it faulted (osdep_park_signals) and closes it
 * again before it touches the context; a parked frame holds no BUSY bit and no pin, so a
 * nested fault there (even on the same page) is handled like any other, parking in a
 * handoff slot of its own.  The handler keeps no static state of its own: everything it
 * writes is on its stack, in atomics or in thread-local words, so it is re-entrant.
 *
 * Previous action SIG_DFL or SIG_IGN: a fault raised by an instruction cannot be
 * ignored, so the default action is restored and the handler returns; the instruction
 * runs again, faults again and the process dies the default way (a core-dumping signal,
 * with the kernel's own siginfo).  A signal that was sent (protsg_os_sent: kill, tgkill,
 * sigqueue) is not repeated by returning: SIG_IGN ignores it, SIG_DFL raises it again
 * after restoring the default (it is not blocked here, so it ends the process at once).
 *
 * The handler's own frame is small on the path that is not the module's, since it may
 * run on a thread whose stack is nearly exhausted (the JVM's stack banging).
 *
 * Async-signal-safe throughout: sigaction, sigprocmask/pthread_sigmask, raise and the
 * sigset functions are on POSIX's list, and the fault ring (fault_ring.h) uses only
 * atomics and the clock; no allocation, no lock.
 */
#include "fault_ring.h"
#include "mpsprot.h"
#include "osdep.h"
#include "protos.h"
#include "protsg_posix.h"
#include "region.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

/* One past the highest signal number (sigismember and sigaddset refuse the ones a
 * libc keeps for itself; the loops below skip them that way). */
#if defined(NSIG)
#define SIGNAL_LIMIT NSIG
#else
#define SIGNAL_LIMIT 65
#endif

static const int handled_signals[2] = {SIGSEGV, SIGBUS};
static struct sigaction previous[2];
/* 1 once a previous action with SA_RESETHAND was called: it is SIG_DFL from then on. */
static _Atomic int previous_reset[2];
static _Atomic int installed;
static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;

static void handler(int sig, siginfo_t *info, void *uc);

static int signal_index(int sig) { return sig == SIGBUS ? 1 : 0; }

static int is_ours(const struct sigaction *sa) {
  return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == handler;
}

/* The signals an instruction raises (synchronously): never blocked by our handler, since
 * the kernel kills a thread that raises one of them while it is blocked. */
static int synchronous(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP
         || sig == SIGSYS;
}

/* What the kernel would block while `old` runs for sig: the thread's mask when the signal
 * arrived, the handler's sa_mask, and sig itself unless SA_NODEFER. */
static void previous_mask(int sig, const struct sigaction *old, const ucontext_t *uc,
                          sigset_t *set) {
  sigemptyset(set);
  for (int s = 1; s < SIGNAL_LIMIT; s++)
    if (sigismember(&uc->uc_sigmask, s) == 1 || sigismember(&old->sa_mask, s) == 1)
      sigaddset(set, s);
  if (old->sa_flags & SA_NODEFER)
    sigdelset(set, sig);
  else
    sigaddset(set, sig);
}

static void chain(int sig, siginfo_t *info, void *uc) {
  int i = signal_index(sig);
  const struct sigaction *old = &previous[i];
  barrier_count(MPSPROT_COUNT_CHAINED);
  int64_t t0;
  if (fault_ring_begin(&t0)) /* off: one relaxed load (fault_ring.h, handler-inside) */
    fault_ring_push(t0, (uint64_t)(uintptr_t)info->si_addr, 0, -1, 0, 0, MPSPROT_FAULT_CHAINED);
  int handler_fn = (old->sa_flags & SA_SIGINFO)
                   || (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN);
  /* SA_RESETHAND: the first signal calls it and makes it SIG_DFL; later ones (and
   * concurrent ones on other threads, as with two deliveries) take the default. */
  if (handler_fn && (old->sa_flags & SA_RESETHAND)
      && atomic_exchange_explicit(&previous_reset[i], 1, memory_order_acq_rel) != 0)
    handler_fn = 0;
  if (handler_fn) {
    sigset_t before, during;
    previous_mask(sig, old, (const ucontext_t *)uc, &during);
    protsg_os_thread_mask(SIG_SETMASK, &during, &before);
    if (old->sa_flags & SA_SIGINFO)
      old->sa_sigaction(sig, info, uc);
    else
      old->sa_handler(sig);
    protsg_os_thread_mask(SIG_SETMASK, &before, NULL);
    return;
  }
  int sent = protsg_os_sent(info);
  if (old->sa_handler == SIG_IGN && sent)
    return;
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
  if (sent)
    raise(sig); /* not blocked here (SA_NODEFER): the default action ends the process */
}

void osdep_park_signals(const osdep_fault_frame *uc, osdep_park_mask *saved) {
  sigset_t open;
  sigemptyset(&open);
  for (int s = 1; s < SIGNAL_LIMIT; s++)
    if (!synchronous(s) && sigismember(&uc->uc_sigmask, s) == 1)
      sigaddset(&open, s);
  protsg_os_thread_mask(SIG_SETMASK, &open, &saved->mask);
}

void osdep_unpark_signals(const osdep_park_mask *saved) {
  protsg_os_thread_mask(SIG_SETMASK, &saved->mask, NULL);
}

static void handler(int sig, siginfo_t *info, void *uc) {
  int saved = errno;
  if (protsg_os_candidate(sig, info)) {
    int slot = region_pin((uintptr_t)info->si_addr);
    if (slot >= 0 && barrier_fault(slot, info, (ucontext_t *)uc)) {
      errno = saved;
      return;
    }
  }
  chain(sig, info, uc);
  errno = saved;
}

int mpsprot_setup(void) {
  if (protos_page_size() <= 0)
    return ENOSYS;
  if (atomic_load_explicit(&installed, memory_order_acquire))
    return 0;
  int err = osdep_init();
  if (err != 0)
    return err;
  pthread_mutex_lock(&setup_lock);
  if (!atomic_load_explicit(&installed, memory_order_relaxed)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART | SA_NODEFER;
    sigfillset(&sa.sa_mask);
    for (int s = 1; s < SIGNAL_LIMIT; s++)
      if (synchronous(s))
        sigdelset(&sa.sa_mask, s);
    int done = 0;
    for (; done < 2; done++) {
      int sig = handled_signals[done];
      /* Record the previous action before ours can run, then install; if the action
       * changed in between, keep what the kernel says we replaced. */
      struct sigaction replaced;
      atomic_store_explicit(&previous_reset[done], 0, memory_order_release);
      if (sigaction(sig, NULL, &previous[done]) != 0 || sigaction(sig, &sa, &replaced) != 0) {
        err = errno;
        break;
      }
      if (!is_ours(&replaced))
        previous[done] = replaced;
    }
    if (err != 0) {
      while (done-- > 0)
        sigaction(handled_signals[done], &previous[done], NULL);
    } else {
      atomic_store_explicit(&installed, 1, memory_order_release);
    }
  }
  pthread_mutex_unlock(&setup_lock);
  return err;
}

int mpsprot_handler_installed(void) {
  return atomic_load_explicit(&installed, memory_order_acquire);
}

/* Restores the previous actions (SIG_DFL for one with SA_RESETHAND that was called).
 * EBUSY while a region is live (its faults would then kill the process); EEXIST when
 * another handler was installed over ours since setup (restoring ours' predecessor would
 * remove it, and that handler may still chain to us): nothing changes then. */
int mpsprot_uninstall(void) {
  int err = 0;
  pthread_mutex_lock(&setup_lock);
  region_table_lock();
  if (mpsprot_region_count() != 0) {
    err = EBUSY;
  } else if (atomic_load_explicit(&installed, memory_order_relaxed)) {
    for (int i = 0; i < 2 && err == 0; i++) {
      struct sigaction now;
      if (sigaction(handled_signals[i], NULL, &now) != 0)
        err = errno;
      else if (!is_ours(&now))
        err = EEXIST;
    }
    for (int i = 0; i < 2 && err == 0; i++) {
      struct sigaction back = previous[i];
      if (atomic_load_explicit(&previous_reset[i], memory_order_acquire)) {
        back.sa_handler = SIG_DFL; /* what the kernel would hold after SA_RESETHAND */
        back.sa_flags &= ~(SA_SIGINFO | SA_RESETHAND);
      }
      if (sigaction(handled_signals[i], &back, NULL) != 0)
        err = errno;
    }
    if (err == 0)
      atomic_store_explicit(&installed, 0, memory_order_release);
  }
  region_table_unlock();
  pthread_mutex_unlock(&setup_lock);
  return err;
}
