/* protsg_darwin.c -- the macOS half of the fault handler: the hooks of protsg_posix.h;
 * the handler itself, chaining, setup and uninstall are protsg_posix.c.  (MPS: protxc.c
 * uses Mach exception ports instead; see docs/design/os.md .os.darwin.signals.)
 *
 * NOT VERIFIED HERE: written from Apple's documentation and headers, never compiled on
 * the project's machines; the macOS workflow builds and tests it.
 *
 * Assumes macOS 10.12 or later.
 *
 * Which faults are candidates: macOS delivers an access to a page whose protection
 * forbids it as SIGBUS or as SIGSEGV depending on the mapping and the CPU (the kernel
 * turns the Mach exception EXC_BAD_ACCESS into one or the other), with si_code values
 * that differ between them.  So every SIGSEGV and SIGBUS is a candidate, whatever
 * si_code says: the fault is the module's when its address lies in a live region's
 * mutator view; barrier.c then checks the record (a fault on a page the record allows
 * is spurious and retried, and repaired if it repeats), and prmc says whether it was a
 * data access at all.
 *
 * Which signals were sent: kill gives si_code SI_USER and sigqueue SI_QUEUE, which on
 * macOS are not <= 0 as on Linux; a code <= 0 is taken as sent too.
 *
 * The mask: pthread_sigmask, not sigprocmask, masks the signals of the calling thread
 * only.
 */
#include "protsg_posix.h"

#include <pthread.h>
#include <signal.h>

int protsg_os_candidate(int sig, const siginfo_t *info) {
  (void)info;
  return sig == SIGSEGV || sig == SIGBUS;
}

int protsg_os_sent(const siginfo_t *info) {
  return info->si_code <= 0 || info->si_code == SI_USER || info->si_code == SI_QUEUE;
}

void protsg_os_thread_mask(int how, const sigset_t *set, sigset_t *old) {
  pthread_sigmask(how, set, old);
}
