/* protsg_posix.h -- what the POSIX fault handler (protsg_posix.c) asks of each OS
 *
 * protsg_posix.c installs, runs, chains and uninstalls the SIGSEGV/SIGBUS handler the
 * same way on Linux and macOS.  These three functions are the places where the two OSes
 * differ: protsg_linux.c and protsg_darwin.c define them, each saying in its header
 * comment what it assumes of its OS and why.  All three run inside the signal handler,
 * so each is async-signal-safe and small (no allocation, no locks, no library calls but
 * the signal-mask call).
 */
#ifndef MPSPROT_PROTSG_POSIX_H
#define MPSPROT_PROTSG_POSIX_H

#include <signal.h>

/* 1 when signal sig, with info, may be a protection fault of the module; the handler
 * then looks up si_addr among the live regions' mutator views, and barrier.c and prmc
 * decide the rest.  0 sends the signal to the previous action at once. */
int protsg_os_candidate(int sig, const siginfo_t *info);

/* 1 when the signal was sent (kill and the like) rather than raised by the faulting
 * instruction, so that returning from the handler would not make it happen again. */
int protsg_os_sent(const siginfo_t *info);

/* Changes the signal mask of the calling thread only, as sigprocmask and
 * pthread_sigmask do (how: SIG_BLOCK, SIG_SETMASK, ...); old may be NULL. */
void protsg_os_thread_mask(int how, const sigset_t *set, sigset_t *old);

#endif /* MPSPROT_PROTSG_POSIX_H */
