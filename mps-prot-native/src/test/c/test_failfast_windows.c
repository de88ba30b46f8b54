/* test_failfast_windows.c -- faults the module must not resolve end the process at once
 * with one clear message on stderr and exit code 3 (never a hang), on Windows: a
 * HANDOFF fault outside native state (write and read), a fault in a region without a
 * policy, a fault the collector resolves with FAIL.  Each runs in a child process (this
 * program again, with an argument) whose stderr the parent reads; the UNPROTECT
 * fallback runs in the parent.  (The Windows counterpart of test_failfast.c; the
 * failing-mprotect case has no Windows equivalent: there is no map count to exhaust.) */
#include "check.h"
#include "mpsprot.h"
#include "testwin.h"

#include <errno.h>

static long page;

static char *region(int pages, int policy, int fallback, int mode) {
  int64_t out[4];
  int32_t rf;
  if (mpsprot_setup() != 0 || mpsprot_region_create(pages * page, out) != 0
      || mpsprot_region_set_policy((int)out[0], policy, fallback) != 0
      || mpsprot_protect((int)out[0], 0, pages * page, mode, &rf) != 0)
    ExitProcess(20);
  return (char *)(uintptr_t)out[1];
}

static void child_not_native(void) {
  char *base = region(1, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST, MPSPROT_ACCESS_WRITE);
  *(volatile uint32_t *)(base + 0x123) = 1; /* a plain store, not native */
}

static void child_not_native_read(void) {
  char *base = region(1, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST, MPSPROT_ACCESS_ALL);
  (void)*(volatile uint32_t *)(base + 0x40);
}

static void child_no_policy(void) {
  char *base = region(1, MPSPROT_POLICY_NONE, MPSPROT_FALLBACK_FAIL_FAST, MPSPROT_ACCESS_WRITE);
  mpsprot_put_u8((int64_t)(uintptr_t)(base + 0x7), 1);
}

static DWORD WINAPI fail_resolver(void *arg) {
  (void)arg;
  int t = mpsprot_handoff_wait(5000);
  if (t >= 0)
    mpsprot_handoff_resolve(t, MPSPROT_RESOLVE_FAIL);
  return 0;
}

static void child_resolve_fail(void) {
  char *base = region(1, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST, MPSPROT_ACCESS_WRITE);
  tw_thread t;
  tw_start(&t, fail_resolver, NULL);
  mpsprot_put_u32((int64_t)(uintptr_t)(base + 0x10), 1);
}

static void check_fail_fast(const char *what, struct tw_outcome *o, const char *const *needles) {
  CHECK(o->exit_code == 3, "%s: the child should end with exit code 3, got %lx, stderr: %s",
        what, (unsigned long)o->exit_code, o->err);
  for (int i = 0; needles[i] != NULL; i++)
    CHECK(strstr(o->err, needles[i]) != NULL, "%s: stderr lacks \"%s\": %s", what, needles[i],
          o->err);
  CHECK(strchr(o->err, '\n') != NULL && strchr(o->err, '\n') == strrchr(o->err, '\n'),
        "%s: one line", what);
}

int main(int argc, char **argv) {
  tw_watchdog(60);
  page = (long)mpsprot_page_size();
  if (argc > 1) {
    if (strcmp(argv[1], "not_native") == 0)
      child_not_native();
    else if (strcmp(argv[1], "not_native_read") == 0)
      child_not_native_read();
    else if (strcmp(argv[1], "no_policy") == 0)
      child_no_policy();
    else if (strcmp(argv[1], "resolve_fail") == 0)
      child_resolve_fail();
    return 0; /* survived: the parent's checks fail */
  }
  struct tw_outcome o;
  const char *rule = "may be taken only in native state: use the module's accessors "
                     "(mpsprot_get_*/put_*) or declare a native mutator; see "
                     "docs/design/fault.md .rule.native";

  tw_run_child("not_native", &o, 30000);
  {
    const char *at = strstr(o.err, "at address 0x");
    unsigned long long a = at ? strtoull(at + 11, NULL, 16) : 0;
    CHECK(a != 0 && (a & (unsigned long long)(page - 1)) == 0x123, "exact address in hex: %s",
          o.err);
    char addr[32];
    snprintf(addr, sizeof addr, "0x%llx", a);
    const char *needles[] = {addr, "write fault", rule, "HANDOFF", "FAIL_FAST", "thread id ",
                             NULL};
    check_fail_fast("not native", &o, needles);
  }

  tw_run_child("not_native_read", &o, 30000);
  {
    const char *needles[] = {"read fault", rule, NULL};
    check_fail_fast("not native, read", &o, needles);
  }

  tw_run_child("no_policy", &o, 30000);
  {
    const char *needles[] = {"no barrier policy", "MPSPROT_POLICY_NONE", NULL};
    check_fail_fast("no policy", &o, needles);
  }

  tw_run_child("resolve_fail", &o, 30000);
  {
    const char *needles[] = {"could not resolve", "MPSPROT_RESOLVE_FAIL", NULL};
    check_fail_fast("resolved with FAIL", &o, needles);
  }

  /* The other fallback: a non-native fault in a HANDOFF region is unprotected. */
  CHECK(mpsprot_setup() == 0, "setup");
  int64_t out[4];
  int32_t rf;
  CHECK(mpsprot_region_create(page, out) == 0, "create");
  int slot = (int)out[0];
  char *base = (char *)(uintptr_t)out[1];
  CHECK(mpsprot_region_set_policy(slot, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_UNPROTECT) == 0,
        "policy");
  CHECK(mpsprot_protect(slot, 0, page, MPSPROT_ACCESS_WRITE, &rf) == 0, "protect");
  int64_t un = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  int64_t ho = mpsprot_counter(MPSPROT_COUNT_HANDOFFS);
  *(volatile uint32_t *)(base + 8) = 5;
  CHECK(*(uint32_t *)(base + 8) == 5, "stored");
  CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - un == 1, "UNPROTECT fallback counted");
  CHECK(mpsprot_counter(MPSPROT_COUNT_HANDOFFS) == ho, "no handoff");
  uint64_t *dirty = (uint64_t *)(uintptr_t)mpsprot_region_bitmap(slot, 0);
  CHECK(dirty[0] & 1, "dirty bit");
  CHECK(mpsprot_counter(MPSPROT_COUNT_FAIL_FAST) == 0, "no fail-fast in this process");
  CHECK(mpsprot_region_destroy(slot) == 0, "destroy");
  return check_report("test_failfast_windows");
}
