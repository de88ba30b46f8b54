/* test_failfast.c -- faults the module must not resolve end the process at once with one
 * clear message on stderr (never a hang): a HANDOFF fault outside native state, a fault
 * in a region without a policy, a fault the collector resolves with FAIL, an mprotect
 * that fails in the handler.  Each runs in a child whose stderr the parent reads. */
#include "check.h"
#include "mpsprot.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static long page;

struct outcome {
  int status;
  char err[4096];
};

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

static void run_child(void (*body)(void), struct outcome *o) {
  int fds[2];
  if (pipe(fds) != 0) {
    perror("pipe");
    exit(2);
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    close(fds[0]);
    dup2(fds[1], 2);
    alarm(10);
    body();
    _exit(0);
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t r;
  while (n < sizeof o->err - 1 && (r = read(fds[0], o->err + n, sizeof o->err - 1 - n)) > 0)
    n += (size_t)r;
  o->err[n] = '\0';
  close(fds[0]);
  waitpid(pid, &o->status, 0);
  drop_emulator_lines(o->err);
}

static int64_t fault_addr;

static char *region(int pages, int policy, int fallback, int mode, int *slot) {
  int64_t out[4];
  int32_t rf;
  if (mpsprot_setup() != 0 || mpsprot_region_create(pages * page, out) != 0
      || mpsprot_region_set_policy((int)out[0], policy, fallback) != 0
      || mpsprot_protect((int)out[0], 0, pages * page, mode, &rf) != 0)
    _exit(20);
  if (slot != NULL)
    *slot = (int)out[0];
  return (char *)(uintptr_t)out[1];
}

static void child_not_native(void) {
  char *base = region(1, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST,
                      MPSPROT_ACCESS_WRITE, NULL);
  *(volatile uint32_t *)(base + fault_addr) = 1; /* a plain store, not native */
}

static void child_not_native_read(void) {
  char *base = region(1, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST,
                      MPSPROT_ACCESS_ALL, NULL);
  (void)*(volatile uint32_t *)(base + fault_addr);
}

static void child_no_policy(void) {
  char *base = region(1, MPSPROT_POLICY_NONE, MPSPROT_FALLBACK_FAIL_FAST,
                      MPSPROT_ACCESS_WRITE, NULL);
  mpsprot_put_u8((int64_t)(uintptr_t)(base + fault_addr), 1);
}

static void *fail_resolver(void *arg) {
  (void)arg;
  int t = mpsprot_handoff_wait(5000);
  if (t >= 0)
    mpsprot_handoff_resolve(t, MPSPROT_RESOLVE_FAIL);
  return NULL;
}

static void child_resolve_fail(void) {
  char *base = region(1, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST,
                      MPSPROT_ACCESS_WRITE, NULL);
  pthread_t t;
  pthread_create(&t, NULL, fail_resolver, NULL);
  mpsprot_put_u32((int64_t)(uintptr_t)(base + fault_addr), 1);
}

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
  fault_addr = (pages - 2) * page;
  *(volatile char *)(base + fault_addr) = 1;
}

static void check_abort(const char *what, struct outcome *o, const char *const *needles) {
  CHECK(WIFSIGNALED(o->status) && WTERMSIG(o->status) == SIGABRT,
        "%s: the child should die by SIGABRT, status %x, stderr: %s", what, o->status, o->err);
  for (int i = 0; needles[i] != NULL; i++)
    CHECK(strstr(o->err, needles[i]) != NULL, "%s: stderr lacks \"%s\": %s", what, needles[i],
          o->err);
  CHECK(strchr(o->err, '\n') == strrchr(o->err, '\n'), "%s: one line", what);
}

int main(void) {
  alarm(30);
  page = (long)mpsprot_page_size();
  struct outcome o;
  char addr[32];
  const char *rule = "may be taken only in native state: use the module's accessors "
                     "(mpsprot_get_*/put_*) or declare a native mutator; see "
                     "docs/design/fault.md .rule.native";

  /* The child maps its region at an address the parent cannot know in advance; the
   * message must carry the exact fault address, so the child reports its base first. */
  fault_addr = 0x123;
  run_child(child_not_native, &o);
  {
    const char *at = strstr(o.err, "at address 0x");
    unsigned long a = at ? strtoul(at + 11, NULL, 16) : 0;
    CHECK(a != 0 && (a & (unsigned long)(page - 1)) == 0x123, "exact address in hex: %s",
          o.err);
    snprintf(addr, sizeof addr, "%#lx", a);
    const char *needles[] = {addr, "write fault", rule, "HANDOFF", "FAIL_FAST", NULL};
    check_abort("not native", &o, needles);
  }

  fault_addr = 0x40;
  run_child(child_not_native_read, &o);
  {
    const char *needles[] = {"read fault", rule, NULL};
    check_abort("not native, read", &o, needles);
  }

  fault_addr = 0x7;
  run_child(child_no_policy, &o);
  {
    const char *needles[] = {"no barrier policy", "MPSPROT_POLICY_NONE", NULL};
    check_abort("no policy", &o, needles);
  }

  fault_addr = 0x10;
  run_child(child_resolve_fail, &o);
  {
    const char *needles[] = {"could not resolve", "MPSPROT_RESOLVE_FAIL", NULL};
    check_abort("resolved with FAIL", &o, needles);
  }

  run_child(child_mprotect_fails, &o);
  {
    const char *needles[] = {"mprotect(", "ENOMEM", "max_map_count", NULL};
    check_abort("mprotect fails in the handler", &o, needles);
  }

  /* The other fallback: a non-native fault in a HANDOFF region is unprotected. */
  CHECK(mpsprot_setup() == 0, "setup");
  int64_t out[4];
  int32_t rf;
  CHECK(mpsprot_region_create(page, out) == 0, "create");
  int slot = (int)out[0];
  char *base = (char *)(uintptr_t)out[1];
  CHECK(mpsprot_region_set_policy(slot, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_UNPROTECT)
            == 0,
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
  return check_report("test_failfast");
}
