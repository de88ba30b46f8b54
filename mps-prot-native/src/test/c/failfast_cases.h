/* failfast_cases.h -- the fail-fast cases shared by test_failfast.c (Linux, x86-64 and
 * aarch64) and test_failfast_windows.c (Windows x86-64, mingw-w64): faults the module
 * must not resolve end the process at once with one clear message on stderr (never a
 * hang).  Each case runs in a child whose stderr the parent reads: a HANDOFF fault
 * outside native state (write and read), a fault in a region without a policy, a fault
 * the collector resolves with FAIL.  Then, in the parent, the other fallback: a
 * non-native fault in a HANDOFF region is unprotected.
 *
 * The per-OS parts are behind #ifdef _WIN32: how a child runs (fork with stderr on a
 * pipe, or this program again with an argument: fc_child_main) and how it must end
 * (SIGABRT, or exit code 3).  Include it once per program, after check.h and mpsprot.h
 * (and testwin.h on Windows), with FC_TEST_NAME defined (the program's name in its
 * report); main sets `page` from mpsprot_page_size() first. */
#ifndef MPSPROT_FAILFAST_CASES_H
#define MPSPROT_FAILFAST_CASES_H

#ifndef FC_TEST_NAME
#error "define FC_TEST_NAME before including failfast_cases.h"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include "child_posix.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

static long page;

/* ---- Running a child, and how it must end ---- */

#ifdef _WIN32
typedef struct tw_outcome fc_outcome;

static void fc_exit(int code) { ExitProcess((UINT)code); }

/* Runs this program again with the argument `name` (fc_child_main runs body there). */
static void fc_run(const char *name, void (*body)(void), fc_outcome *o) {
  (void)body;
  tw_run_child(name, o, 30000);
}

static void fc_check_ended(const char *what, const fc_outcome *o) {
  CHECK(o->exit_code == 3, "%s: the child should end with exit code 3, got %lx, stderr: %s",
        what, (unsigned long)o->exit_code, o->err);
}
#else
typedef struct child_outcome fc_outcome;

static void fc_exit(int code) { _exit(code); }

/* Removes the line qemu-user adds to stderr when the emulated process dies of a signal
 * ("qemu: uncaught target signal 6 (Aborted) - core dumped"): it is the emulator's
 * report, not the module's message.  A native run never has such a line. */
static void drop_emulator_lines(char *err) {
  static const char tag[] = "qemu: uncaught target signal";
  char *line = err;
  while (*line != '\0') {
    char *end = strchr(line, '\n');
    size_t len = end != NULL ? (size_t)(end - line) + 1 : strlen(line);
    if (strncmp(line, tag, sizeof tag - 1) == 0)
      memmove(line, line + len, strlen(line + len) + 1);
    else
      line += len;
  }
}

/* Runs body in a forked child (no core file, at most 10 s) with its stderr captured. */
static void fc_run(const char *name, void (*body)(void), fc_outcome *o) {
  (void)name;
  child_run(body, 10, o);
  drop_emulator_lines(o->err);
}

static void fc_check_ended(const char *what, const fc_outcome *o) {
  CHECK(WIFSIGNALED(o->status) && WTERMSIG(o->status) == SIGABRT,
        "%s: the child should die by SIGABRT, status %x, stderr: %s", what, o->status, o->err);
}
#endif

/* The child ended as a fail-fast must, its stderr holds every needle, on one line. */
static void check_fail_fast(const char *what, fc_outcome *o, const char *const *needles) {
  fc_check_ended(what, o);
  for (int i = 0; needles[i] != NULL; i++)
    CHECK(strstr(o->err, needles[i]) != NULL, "%s: stderr lacks \"%s\": %s", what, needles[i],
          o->err);
  CHECK(strchr(o->err, '\n') != NULL && strchr(o->err, '\n') == strrchr(o->err, '\n'),
        "%s: one line", what);
}

/* ---- The children ---- */

/* A protected region with a policy (the child's exit code tells which step failed). */
static char *region(int pages, int policy, int fallback, int mode, int *slot) {
  int64_t out[4];
  int32_t rf;
  if (mpsprot_setup() != 0 || mpsprot_region_create(pages * page, out) != 0
      || mpsprot_region_set_policy((int)out[0], policy, fallback) != 0
      || mpsprot_protect((int)out[0], 0, pages * page, mode, &rf) != 0)
    fc_exit(20);
  if (slot != NULL)
    *slot = (int)out[0];
  return (char *)(uintptr_t)out[1];
}

static void child_not_native(void) {
  char *base = region(1, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST,
                      MPSPROT_ACCESS_WRITE, NULL);
  mpsprot_mutator_enter(); /* a registered mutator (ProtTramp): the message says so */
  *(volatile uint32_t *)(base + 0x123) = 1; /* a plain store, not native */
}

static void child_not_native_read(void) {
  char *base = region(1, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST,
                      MPSPROT_ACCESS_ALL, NULL);
  (void)*(volatile uint32_t *)(base + 0x40);
}

static void child_no_policy(void) {
  char *base = region(1, MPSPROT_POLICY_NONE, MPSPROT_FALLBACK_FAIL_FAST,
                      MPSPROT_ACCESS_WRITE, NULL);
  mpsprot_put_u8((int64_t)(uintptr_t)(base + 0x7), 1);
}

#ifdef _WIN32
static DWORD WINAPI fail_resolver(void *arg) {
#else
static void *fail_resolver(void *arg) {
#endif
  (void)arg;
  int t = mpsprot_handoff_wait(5000);
  if (t >= 0)
    mpsprot_handoff_resolve(t, MPSPROT_RESOLVE_FAIL);
  return 0;
}

static void child_resolve_fail(void) {
  char *base = region(1, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST,
                      MPSPROT_ACCESS_WRITE, NULL);
#ifdef _WIN32
  tw_thread t;
  tw_start(&t, fail_resolver, NULL);
#else
  pthread_t t;
  pthread_create(&t, NULL, fail_resolver, NULL);
#endif
  mpsprot_put_u32((int64_t)(uintptr_t)(base + 0x10), 1);
}

#ifdef _WIN32
/* In a child (argc > 1): runs the case argv[1] names and returns 1 (the caller returns
 * 0: a child that survives makes the parent's checks fail).  In the parent: 0. */
static int fc_child_main(int argc, char **argv) {
  if (argc <= 1)
    return 0;
  if (strcmp(argv[1], "not_native") == 0)
    child_not_native();
  else if (strcmp(argv[1], "not_native_read") == 0)
    child_not_native_read();
  else if (strcmp(argv[1], "no_policy") == 0)
    child_no_policy();
  else if (strcmp(argv[1], "resolve_fail") == 0)
    child_resolve_fail();
  return 1;
}
#endif

/* ---- The parent's checks ---- */

static void test_fail_fast_cases(void) {
  fc_outcome o;
  /* Both APIs' names (fault.md .msg.names): a C caller reads its own. */
  const char *rule = "may be taken only in native state: access the region through the "
                     "module's accessors (Java: org.mpsprot.Accessors getLong, putInt, ...; "
                     "C: mpsprot_get_*/put_*), or (C code only, never a Java thread) declare "
                     "a native mutator with mpsprot_native_mutator_begin; see "
                     "docs/design/fault.md .rule.native";
  const char *tramp = "a registered mutator inside Prot.tramp / mpsprot_mutator_enter";

  /* The child maps its region at an address the parent cannot know in advance; the
   * message must carry the exact fault address, so the check takes it from the message
   * and checks its offset in the page. */
  fc_run("not_native", child_not_native, &o);
  {
    const char *at = strstr(o.err, "at address 0x");
    unsigned long long a = at ? strtoull(at + 11, NULL, 16) : 0;
    CHECK(a != 0 && (a & (unsigned long long)(page - 1)) == 0x123, "exact address in hex: %s",
          o.err);
    char addr[32];
    snprintf(addr, sizeof addr, "0x%llx", a);
#ifdef _WIN32
    const char *needles[] = {addr, "write fault", rule, "HANDOFF", "FAIL_FAST", "thread id ",
                             tramp, NULL};
#else
    const char *needles[] = {addr, "write fault", rule, "HANDOFF", "FAIL_FAST", tramp, NULL};
#endif
    check_fail_fast("not native", &o, needles);
  }

  fc_run("not_native_read", child_not_native_read, &o);
  {
    const char *needles[] = {"read fault", rule, NULL};
    check_fail_fast("not native, read", &o, needles);
    CHECK(strstr(o.err, tramp) == NULL, "not registered, so not said: %s", o.err);
  }

  fc_run("no_policy", child_no_policy, &o);
  {
    const char *needles[] = {"no barrier policy", "MPSPROT_POLICY_NONE", "mpsprot_region_set_policy",
                             "Region.setPolicy", NULL};
    check_fail_fast("no policy", &o, needles);
  }

  fc_run("resolve_fail", child_resolve_fail, &o);
  {
    const char *needles[] = {"could not resolve", "MPSPROT_RESOLVE_FAIL", "FaultHandler", NULL};
    check_fail_fast("resolved with FAIL", &o, needles);
  }
}

/* The other fallback, in this process: a non-native fault in a HANDOFF region is
 * unprotected.  Returns main's value. */
static int test_unprotect_fallback_and_report(void) {
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
  return check_report(FC_TEST_NAME);
}

#endif /* MPSPROT_FAILFAST_CASES_H */
