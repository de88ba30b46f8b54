/* test_region_guard.c -- a region's views are fenced by guard pages (docs/design/prot.md
 * .sol.guard), and a record byte that stays BUSY ends in a fail-fast message instead of
 * a hang (.sol.busy.bound).
 *
 * - Layout: the page before and after each view is inaccessible, none of the
 *   bookkeeping (the record) lies next to a view, and a region costs at most six
 *   mappings, all of them gone after destroy.
 * - A one-byte overrun past either view, with the module's handler installed, is not
 *   the module's fault: the handler passes it on and the default action kills the child
 *   with SIGSEGV.  Before the guards, the mutator view's overrun wrote the record of
 *   page 0 (the next fault there then spun for ever) and the alias view's overrun wrote
 *   the mutator view's first page.
 * - A record byte left BUSY (here: set by hand through mpsprot_region_record): a fault
 *   on the page ends the process with SIGABRT and one message naming the page, the
 *   slot and the causes, after the bound (10 s) rather than never.
 * Each case that may die runs in a forked child (stderr captured, alarm as a backstop). */
#include "check.h"
#include "child_posix.h"
#include "mpsprot.h"
#include "probe_posix.h" /* faults, os_perms */

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long page;




static int died_of(const struct child_outcome *o, int sig) {
  return WIFSIGNALED(o->status) && WTERMSIG(o->status) == sig;
}

/* A region of `pages` pages with the UNPROTECT policy, page 0 protected against `mode`
 * (the child's exit code 20 says it could not be made). */
static char *region(int pages, int mode, int64_t *out) {
  int32_t rf;
  if (mpsprot_setup() != 0 || mpsprot_region_create(pages * page, out) != 0
      || mpsprot_region_set_policy((int)out[0], MPSPROT_POLICY_UNPROTECT, 0) != 0
      || mpsprot_protect((int)out[0], 0, page, mode, &rf) != 0)
    _exit(20);
  return (char *)(uintptr_t)out[1];
}

static void test_layout(void) {
  int before = maps_lines();
  int64_t out[4];
  int err = mpsprot_region_create(4 * page, out);
  CHECK(err == 0, "create: %s", strerror(err));
  if (err != 0)
    return;
  int slot = (int)out[0];
  uintptr_t base = (uintptr_t)out[1], alias = (uintptr_t)out[2], size = 4 * (uintptr_t)page;
  uintptr_t record = (uintptr_t)mpsprot_region_record(slot);
  int during = maps_lines();
  printf("test_region_guard: a region of 4 pages costs %d mappings\n", during - before);
  CHECK(during - before <= 6, "a region costs at most six mappings, not %d", during - before);

  struct {
    const char *what;
    uintptr_t at;
  } guards[] = {{"the page before the mutator view", base - (uintptr_t)page},
                {"the page after the mutator view", base + size},
                {"the page before the alias view", alias - (uintptr_t)page},
                {"the page after the alias view", alias + size}};
  for (size_t i = 0; i < sizeof guards / sizeof guards[0]; i++) {
    CHECK(strcmp(os_perms(guards[i].at), "--") == 0, "%s is %s in /proc/self/maps, not --",
          guards[i].what, os_perms(guards[i].at));
    CHECK(faults((volatile char *)guards[i].at, 0) && faults((volatile char *)guards[i].at, 1),
          "%s faults on read and write", guards[i].what);
  }
  CHECK(!faults((volatile char *)(base + size - 1), 1), "the view's last byte is writable");
  CHECK(!faults((volatile char *)(alias + size - 1), 1), "the alias's last byte is writable");
  /* No view is next to the bookkeeping, on either side. */
  CHECK(record + (uintptr_t)page <= base - (uintptr_t)page || record >= base + size + (uintptr_t)page,
        "the record %#lx is at least a guard page away from the mutator view [%#lx, %#lx)",
        (unsigned long)record, (unsigned long)base, (unsigned long)(base + size));
  CHECK(record + (uintptr_t)page <= alias - (uintptr_t)page || record >= alias + size + (uintptr_t)page,
        "the record %#lx is at least a guard page away from the alias view [%#lx, %#lx)",
        (unsigned long)record, (unsigned long)alias, (unsigned long)(alias + size));
  CHECK(mpsprot_region_destroy(slot) == 0, "destroy");
  CHECK(maps_lines() == before, "after destroy the mappings are as before: %d, not %d",
        maps_lines(), before);
}

/* One byte past the mutator view, the module's handler installed; then the fault on
 * page 0 that, with a corrupted record, used to spin. */
static void child_overrun_mutator(void) {
  int64_t out[4];
  char *base = region(4, MPSPROT_ACCESS_WRITE, out);
  volatile unsigned char *past = (volatile unsigned char *)(base + 4 * page);
  *past = 0xff;
  base[0] = 1;
  _exit(0);
}

/* One byte past the alias view. */
static void child_overrun_alias(void) {
  int64_t out[4];
  (void)region(4, MPSPROT_ACCESS_ALL, out);
  volatile unsigned char *past = (volatile unsigned char *)(uintptr_t)(out[2] + 4 * page);
  *past = 0xff;
  _exit(0);
}

static void test_overruns(void) {
  struct child_outcome o;
  child_run(child_overrun_mutator, 20, &o);
  CHECK(died_of(&o, SIGSEGV),
        "an overrun of the mutator view dies by SIGSEGV (status %#x%s), stderr: %s", o.status,
        died_of(&o, SIGALRM) ? ": hung" : "", o.err);
  child_run(child_overrun_alias, 20, &o);
  CHECK(died_of(&o, SIGSEGV),
        "an overrun of the alias view dies by SIGSEGV (status %#x, exit %d), stderr: %s",
        o.status, WIFEXITED(o.status) ? WEXITSTATUS(o.status) : -1, o.err);
}

/* Page 1's record byte BUSY for good, then a write fault on page 1. */
static void child_busy_for_ever(void) {
  int64_t out[4];
  int32_t rf;
  char *base = region(4, MPSPROT_ACCESS_WRITE, out);
  if (mpsprot_protect((int)out[0], page, page, MPSPROT_ACCESS_WRITE, &rf) != 0)
    _exit(21);
  volatile unsigned char *record = (volatile unsigned char *)(uintptr_t)mpsprot_region_record((int)out[0]);
  record[1] |= 0x80; /* as a stray write or a holder that died would leave it */
  base[page] = 1;
  _exit(0);
}

static void test_busy_bound(void) {
  struct child_outcome o;
  child_run(child_busy_for_ever, 40, &o);
  CHECK(died_of(&o, SIGABRT), "a BUSY record byte ends in a fail-fast (SIGABRT), status %#x%s,"
        " stderr: %s", o.status, died_of(&o, SIGALRM) ? " (hung until the alarm)" : "", o.err);
  const char *needles[] = {"mps-prot: fatal: the record byte of page 1 ", "region slot ",
                           "stayed BUSY", "corrupted", "died", ".sol.busy.bound", NULL};
  for (int i = 0; needles[i] != NULL; i++)
    CHECK(strstr(o.err, needles[i]) != NULL, "stderr lacks \"%s\": %s", needles[i], o.err);
  CHECK(o.seconds >= 9.5 && o.seconds < 30, "after the bound (10 s), not %.1f s", o.seconds);
}

int main(void) {
  alarm(120);
  page = (long)mpsprot_page_size();
  CHECK(mpsprot_setup() == 0, "setup");
  test_layout();
  test_overruns();
  test_busy_bound();
  return check_report("test_region_guard");
}
