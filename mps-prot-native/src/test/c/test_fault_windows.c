/* test_fault_windows.c -- the fault path inside regions on Windows (the counterpart of
 * test_fault.c): the context the vectored handler captures from the CONTEXT record
 * (checked by a second thread through the handoff), HANDOFF with several mutators and
 * barrier threads parked with WaitOnAddress inside the exception handler, UNPROTECT with
 * its dirty and touched bits, spurious faults, STEP and its fallback, the access log,
 * registers written back into the CONTEXT, the instruction bytes at a page end.
 *
 * The checks are in fault_fixture.h, shared with test_fault.c; this program is their
 * Windows build (mingw-w64, x86-64). */
#include "check.h"
#include "mpsprot.h"
#include "testwin.h"

#define FF_TEST_NAME "test_fault_windows"
#include "fault_fixture.h" /* the fixtures and the checks */

int main(void) {
  tw_watchdog(120); /* a hang fails the test instead of stalling check-windows */
  return ff_main();
}
