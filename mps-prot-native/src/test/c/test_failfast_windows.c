/* test_failfast_windows.c -- faults the module must not resolve end the process at once
 * with one clear message on stderr and exit code 3 (never a hang), on Windows: a
 * HANDOFF fault outside native state (write and read), a fault in a region without a
 * policy, a fault the collector resolves with FAIL.  Each runs in a child process (this
 * program again, with an argument) whose stderr the parent reads; the UNPROTECT
 * fallback runs in the parent.  The cases are in failfast_cases.h, shared with
 * test_failfast.c; the failing-mprotect case has no Windows equivalent: there is no map
 * count to exhaust. */
#include "check.h"
#include "mpsprot.h"
#include "testwin.h"

#define FC_TEST_NAME "test_failfast_windows"
#include "failfast_cases.h"

int main(int argc, char **argv) {
  tw_watchdog(60);
  page = (long)mpsprot_page_size();
  if (fc_child_main(argc, argv))
    return 0; /* survived: the parent's checks fail */
  test_fail_fast_cases();
  return test_unprotect_fallback_and_report();
}
