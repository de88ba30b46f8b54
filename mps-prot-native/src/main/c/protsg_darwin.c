/* protsg_darwin.c -- the fault handler for macOS (MPS: protxc.c uses Mach exception
 * ports instead; see docs/design/os.md .os.darwin.signals), ProtSetup's native half
 *
 * NOT VERIFIED HERE: written from Apple's documentation and headers, never compiled on
 * the project's machines; the macOS workflow builds and tests it.
 *
 * Assumes macOS 10.12 or later.  mpsprot_setup installs one handler for SIGSEGV and
 * SIGBUS with SA_SIGINFO | SA_ONSTACK | SA_RESTART and keeps the actions it replaced,
 * as on Linux (protsg_linux.c).  The difference is which signal a protection fault
 * raises: macOS delivers an access to a page whose protection forbids it as SIGBUS or as
 * SIGSEGV depending on the mapping and the CPU (the kernel turns the Mach exception
 * EXC_BAD_ACCESS into one or the other), with si_code values that differ between them.
 * So a fault is the module's when the signal is SIGSEGV or SIGBUS and the address lies
 * in a live region's mutator view, whatever si_code says; barrier.c then checks the
 * record (a fault on a page the record allows is spurious and retried, and repaired if
 * it repeats), and prmc says whether it was a data access at all.  Every other signal
 * goes to the previous action unchanged (design .rule.chain): the same signal, siginfo
 * and ucontext, in its own calling convention, with its sa_mask added while it runs.
 *
 * Previous action SIG_DFL or SIG_IGN: as on Linux, a fault raised by an instruction
 * cannot be ignored, so the default action is restored and the handler returns; the
 * instruction faults again and the process dies the default way.  A signal that was
 * sent (kill: si_code SI_USER or SI_QUEUE on macOS, which are not <= 0 as on Linux) is
 * not repeated by returning: SIG_IGN ignores it, SIG_DFL raises it again.
 *
 * pthread_sigmask, not sigprocmask, masks the signals of the calling thread only.
 */
#include "mpsprot.h"
#include "osdep.h"
#include "protos.h"
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

static int was_sent(const siginfo_t *info) {
  return info->si_code <= 0 || info->si_code == SI_USER || info->si_code == SI_QUEUE;
}

static void chain(int sig, siginfo_t *info, void *uc) {
  const struct sigaction *old = &previous[signal_index(sig)];
  barrier_count(MPSPROT_COUNT_CHAINED);
  if ((old->sa_flags & SA_SIGINFO) || (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN)) {
    sigset_t before;
    pthread_sigmask(SIG_BLOCK, &old->sa_mask, &before);
    if (old->sa_flags & SA_SIGINFO)
      old->sa_sigaction(sig, info, uc);
    else
      old->sa_handler(sig);
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    return;
  }
  int sent = was_sent(info);
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
  if (sig == SIGSEGV || sig == SIGBUS) {
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

/* Restores the previous actions.  EBUSY while a region is live, and when another handler
 * was installed over ours since setup (as on Linux). */
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
