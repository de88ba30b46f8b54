/* inject.h -- fault injection at the shim's OS call sites (docs/design/prot.md .inject)
 *
 * Every OS call whose failure the shim must survive (mmap, mprotect, memfd_create,
 * ftruncate, ioctl, userfaultfd, the open and read of /proc files, futex) is written
 *
 *     int err = inject_fail(INJECT_MPROTECT);
 *     if (err == 0 && mprotect(...) != 0) err = errno;
 *
 * In the release library inject_fail is the constant 0 and the compiler removes it, so the
 * shipped code is the code without the seam.  In the test library (built with
 * -DMPSPROT_INJECT into target/inject/, never shipped in the jar) inject_fail counts the
 * call and, when a test armed the site with mpsprot_inject (mpsprot.h), returns the errno
 * the OS call is to fail with instead of making it.
 *
 * inject_fail is async-signal-safe (relaxed atomics only): the handler's mprotect and
 * the handoff's futex are injection sites too.
 */
#ifndef MPSPROT_INJECT_H
#define MPSPROT_INJECT_H

#include "mpsprot.h"

#if defined(MPSPROT_INJECT)
int inject_fail(int site);
#else
#define inject_fail(site) ((void)(site), 0)
#endif

/* A pause point (mpsprot.h MPSPROT_INJECT_PAUSE_*): in the test library, calls the
 * function a test set with mpsprot_inject_pause, which may block the calling thread;
 * nothing in the release library.  Never in code the signal handler runs. */
#if defined(MPSPROT_INJECT)
void inject_pause(int point);
#else
#define inject_pause(point) ((void)(point))
#endif

#endif /* MPSPROT_INJECT_H */
