/* protsg_posix.c -- the fault handler for Linux and macOS (MPS: protsgix.c), ProtSetup's
 * native half
 *
 * Assumes POSIX signals with SA_SIGINFO and SA_ONSTACK.  Where Linux and macOS differ
 * (which signals may be a protection fault, which were sent, how one thread's mask is
 * changed), this file asks the hooks of protsg_posix.h, which protsg_linux.c and
 * protsg_darwin.c (NOT VERIFIED HERE) define (docs/design/os.md .os.posix).
 *
 * mpsprot_setup runs osdep_init (macOS: the pthread keys of the thread-local words;
 * nothing on Linux), then installs one handler for SIGSEGV and SIGBUS with
 * SA_SIGINFO | SA_ONSTACK | SA_RESTART (never SA_RESETHAND: the handler stays for every
 * fault) and keeps the actions it replaced.  A signal that the OS calls a candidate
 * (protsg_os_candidate: Linux, a SIGSEGV with SEGV_ACCERR; macOS, any SIGSEGV or SIGBUS)
 * whose address lies in a live region's mutator view is the module's (barrier.c); so is
 * none that is an instruction fetch (prmc_capture says PRMC_NOT_DATA: the module never
 * grants execute).  Every other signal goes to the previous action unchanged (design
 * .rule.chain; docs/design/fault.md .handler.chain): the same signal, siginfo and
 * ucontext, in the previous handler's own calling convention, with its sa_mask added to
 * the blocked set while it runs, as the kernel would have done.  MPS re-raises with
 * kill(), losing the context; the JVM's handler (implicit null checks, stack banging,
 * safepoint polls) needs the real one.
 *
 * Previous action SIG_DFL or SIG_IGN: a fault raised by an instruction cannot be
 * ignored, so the default action is restored and the handler returns; the instruction
 * runs again, faults again and the process dies the default way (a core-dumping signal,
 * with the kernel's own siginfo).  A signal that was sent (protsg_os_sent: kill, tgkill,
 * sigqueue) is not repeated by returning: SIG_IGN ignores it, SIG_DFL raises it again
 * after restoring the default.
 *
 * The handler's own frame is small on the path that is not the module's, since it may
 * run on a thread whose stack is nearly exhausted (the JVM's stack banging).
 *
 * Not emulated when calling a previous handler: its SA_RESETHAND and SA_NODEFER flags
 * (the signal stays blocked while it runs, as it is while ours runs).
 */
#include "mpsprot.h"
#include "osdep.h"
#include "protos.h"
#include "protsg_posix.h"
#include "region.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

static const int handled_signals[2] = {SIGSEGV, SIGBUS};
static struct sigaction previous[2];
static _Atomic int installed;
static pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;

static void handler(int sig, siginfo_t *info, void *uc);

static int signal_index(int sig) { return sig == SIGBUS ? 1 : 0; }

static int is_ours(const struct sigaction *sa) {
  return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == handler;
}

static void chain(int sig, siginfo_t *info, void *uc) {
  const struct sigaction *old = &previous[signal_index(sig)];
  barrier_count(MPSPROT_COUNT_CHAINED);
  if ((old->sa_flags & SA_SIGINFO) || (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN)) {
    sigset_t before;
    protsg_os_thread_mask(SIG_BLOCK, &old->sa_mask, &before);
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
    raise(sig); /* pending while blocked here; delivered (fatally) when we return */
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
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    int done = 0;
    for (; done < 2; done++) {
      int sig = handled_signals[done];
      /* Record the previous action before ours can run, then install; if the action
       * changed in between, keep what the kernel says we replaced. */
      struct sigaction replaced;
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

/* Restores the previous actions.  EBUSY while a region is live (its faults would then
 * kill the process), and also when another handler was installed over ours since setup
 * (restoring ours' predecessor would remove it; that handler may still chain to us). */
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
        err = EBUSY;
    }
    for (int i = 0; i < 2 && err == 0; i++)
      if (sigaction(handled_signals[i], &previous[i], NULL) != 0)
        err = errno;
    if (err == 0)
      atomic_store_explicit(&installed, 0, memory_order_release);
  }
  region_table_unlock();
  pthread_mutex_unlock(&setup_lock);
  return err;
}
