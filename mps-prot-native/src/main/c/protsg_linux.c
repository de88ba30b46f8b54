/* protsg_linux.c -- the Linux half of the fault handler (MPS: protsgix.c): the hooks of
 * protsg_posix.h; the handler itself, chaining, setup and uninstall are protsg_posix.c
 *
 * Assumes Linux's siginfo_t and glibc.
 *
 * Which faults are candidates: on Linux a protection fault is always a SIGSEGV with
 * si_code SEGV_ACCERR.  A SIGBUS (a memfd page beyond its size, a hardware error) is
 * never the module's, and is caught only to be passed on like every other fault.
 *
 * Which signals were sent: those with si_code <= 0 (kill, tgkill, sigqueue: SI_USER,
 * SI_TKILL, SI_QUEUE, ...) and SI_KERNEL (sent by the kernel).
 *
 * The mask: sigprocmask changes only the calling thread's mask on Linux, and (unlike
 * pthread_sigmask, in libc only since glibc 2.32) keeps the library loadable on older
 * glibc.
 */
#include "protsg_posix.h"

#include <signal.h>

int protsg_os_candidate(int sig, const siginfo_t *info) {
  return sig == SIGSEGV && info->si_code == SEGV_ACCERR;
}

int protsg_os_sent(const siginfo_t *info) {
  return info->si_code <= 0 || info->si_code == SI_KERNEL;
}

void protsg_os_thread_mask(int how, const sigset_t *set, sigset_t *old) {
  sigprocmask(how, set, old);
}
