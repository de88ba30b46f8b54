/* test_fault.c -- the fault path inside regions on Linux: the context the handler
 * captures (checked by a second thread through the handoff), HANDOFF with several
 * mutators and barrier threads, UNPROTECT with its dirty and touched bits, spurious
 * faults, STEP and its fallback, the access log, registers written back into the
 * ucontext, the instruction bytes at a page end.
 *
 * The checks are in fault_fixture.h, shared with test_fault_windows.c; this program is
 * their Linux build.  Runs on x86-64 and on aarch64 (natively or under qemu-user). */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr, syscall */
#endif
#include "check.h"
#include "mpsprot.h"

#include <unistd.h>

#define FF_TEST_NAME "test_fault"
#include "fault_fixture.h" /* the fixtures and the checks */

int main(void) {
  alarm(20); /* a hang fails the test instead of stalling make check */
  return ff_main();
}
