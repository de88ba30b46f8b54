/* test_failfast.c -- faults the module must not resolve end the process at once with one
 * clear message on stderr (never a hang): a HANDOFF fault outside native state, a fault
 * in a region without a policy, a fault the collector resolves with FAIL, an mprotect
 * that fails in the handler under an instruction that cannot be emulated (and, beside
 * them, the store that can: it is emulated instead, .sol.open.refused).  Each runs in a child whose stderr the parent reads.  The
 * cases Windows shares are in failfast_cases.h; the failing mprotect is Linux's own. */
#include "check.h"
#include "mpsprot.h"

#include <errno.h>
#include <stdio.h>

#define FC_TEST_NAME "test_failfast"
#include "failfast_cases.h"

/* Exhausts vm.max_map_count: pages alternately read-only until mprotect says ENOMEM,
 * then one change that needs one more mapping, so that the process has no mapping left.
 * The last three pages are one read-only run: opening its middle page needs two more
 * mappings, opening its last page one more; the kernel refuses both (ENOMEM). */
static char *exhaust_map_count(int64_t *pages_out) {
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
  for (int64_t i = 0; i < pages - 5 && err == 0; i += 2)
    err = mpsprot_protect(slot, i * page, page, MPSPROT_ACCESS_WRITE, &rf);
  if (err != ENOMEM)
    _exit(22);
  /* The loop stopped at a change that needed two mappings: one may be left.  Page
   * pages - 4 lies between a read-write run and the read-only run: no access there needs
   * exactly one more (ENOMEM if none is left, which is as good). */
  mpsprot_protect(slot, (pages - 4) * page, page, MPSPROT_ACCESS_ALL, &rf);
  *pages_out = pages;
  return base;
}

/* docs/design/fault.md .sol.open.refused: the handler cannot open the page, so it emulates
 * the store through the alias view; the page stays read-only and is marked dirty. */
static void child_open_refused_steps(void) {
  int64_t pages;
  char *base = exhaust_map_count(&pages);
  int slot = mpsprot_region_find((int64_t)(uintptr_t)base);
  int64_t before = mpsprot_counter(MPSPROT_COUNT_STEPPED);
  *(volatile char *)(base + (pages - 2) * page + 5) = 0x5a;
  const uint64_t *dirty = (const uint64_t *)(uintptr_t)mpsprot_region_bitmap(slot, 0);
  size_t p = (size_t)(pages - 2);
  if (mpsprot_counter(MPSPROT_COUNT_STEPPED) != before + 1)
    _exit(31); /* not emulated */
  if (!((dirty[p / 64] >> (p % 64)) & 1))
    _exit(32); /* not marked */
  if (base[(pages - 2) * page + 5] != 0x5a)
    _exit(33); /* the store did not land */
  _exit(0);
}

/* An instruction that cannot be emulated (an 8-byte store that runs past the region's
 * end, into the guard page) on a page the handler cannot open: fail fast. */
typedef uint64_t unaligned_u64 __attribute__((aligned(1)));
static void child_mprotect_fails(void) {
  int64_t pages;
  char *base = exhaust_map_count(&pages);
  *(volatile unaligned_u64 *)(base + pages * page - 4) = 1;
}

int main(void) {
  alarm(30);
  page = (long)mpsprot_page_size();
  test_fail_fast_cases();

  fc_outcome o;
  fc_run("open_refused_steps", child_open_refused_steps, &o);
  CHECK(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0,
        "a store whose page cannot be opened at the map limit is emulated: status %x, "
        "stderr: %s", o.status, o.err);
  fc_run("mprotect_fails", child_mprotect_fails, &o);
  {
    const char *needles[] = {"mprotect(", "ENOMEM", "max_map_count", "cannot be emulated",
                             NULL};
    check_fail_fast("mprotect fails in the handler and the store cannot be emulated", &o,
                    needles);
  }

  return test_unprotect_fallback_and_report();
}
