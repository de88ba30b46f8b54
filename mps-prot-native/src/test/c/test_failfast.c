/* test_failfast.c -- faults the module must not resolve end the process at once with one
 * clear message on stderr (never a hang): a HANDOFF fault outside native state, a fault
 * in a region without a policy, a fault the collector resolves with FAIL, an mprotect
 * that fails in the handler.  Each runs in a child whose stderr the parent reads.  The
 * cases Windows shares are in failfast_cases.h; the failing mprotect is Linux's own. */
#include "check.h"
#include "mpsprot.h"

#include <errno.h>
#include <stdio.h>

#define FC_TEST_NAME "test_failfast"
#include "failfast_cases.h"

/* Exhaust vm.max_map_count, then fault on the middle page of a protected 3-page run:
 * opening it needs two more mappings, which the kernel refuses (ENOMEM). */
static void child_mprotect_fails(void) {
  long max = 65530;
  FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
  if (f != NULL) {
    if (fscanf(f, "%ld", &max) != 1)
      max = 65530;
    fclose(f);
  }
  int64_t pages = max * 2 + 64;
  int slot;
  char *base = region((int)pages, MPSPROT_POLICY_UNPROTECT, 0, 0, &slot);
  int32_t rf;
  if (mpsprot_protect(slot, (pages - 3) * page, 3 * page, MPSPROT_ACCESS_WRITE, &rf) != 0)
    _exit(21);
  int err = 0;
  for (int64_t i = 0; i < pages - 4 && err == 0; i += 2)
    err = mpsprot_protect(slot, i * page, page, MPSPROT_ACCESS_WRITE, &rf);
  if (err != ENOMEM)
    _exit(22);
  *(volatile char *)(base + (pages - 2) * page) = 1;
}

int main(void) {
  alarm(30);
  page = (long)mpsprot_page_size();
  test_fail_fast_cases();

  fc_outcome o;
  fc_run("mprotect_fails", child_mprotect_fails, &o);
  {
    const char *needles[] = {"mprotect(", "ENOMEM", "max_map_count", NULL};
    check_fail_fast("mprotect fails in the handler", &o, needles);
  }

  return test_unprotect_fallback_and_report();
}
