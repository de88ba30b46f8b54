/* test_region_api.c -- the C API's robustness (mpsprot.h is public): every entry point
 * that takes a slot either works or answers "not live" while another thread destroys
 * that region, and every output pointer that is NULL is refused, not written.
 *
 * - The race: threads call harvest, protect, log_drain, set_policy, bitmap, record and
 *   alias_reset on a slot, in a loop, while the main thread creates and destroys the
 *   region under them, many times.  Every answer must be 0 or EINVAL (log_drain: a
 *   count; record and bitmap: a pointer or 0), and the process must not crash: before
 *   each call pinned its slot, a destroy unmapped the bookkeeping under a running call.
 * - NULL output pointers: each case runs in a forked child, so that one that crashes
 *   (as several did) is reported by name and the others still run. */
#include "check.h"
#include "mpsprot.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static long page;

#define RACE_PAGES 64
#define RACE_ROUNDS 1000
#define RACE_ROUNDS_EMULATED 100 /* under qemu-user (MPSPROT_TEST_EMULATED): each round is
                                  * ~50 times slower, and a loaded machine slower still */
#define RACERS 3

static _Atomic int race_slot = -1; /* the slot of the region now live, or -1 */
static _Atomic int race_stop;
static _Atomic long race_calls, race_bad;
static char race_bad_what[128];

static void bad(const char *what, long value) {
  if (atomic_fetch_add(&race_bad, 1) == 0)
    snprintf(race_bad_what, sizeof race_bad_what, "%s answered %ld", what, value);
}

static void *racer(void *arg) {
  int kind = (int)(intptr_t)arg;
  uint64_t out[RACE_PAGES / 64];
  struct mpsprot_log_entry log[8];
  while (!atomic_load(&race_stop)) {
    int slot = atomic_load(&race_slot);
    if (slot < 0)
      slot = 0; /* a slot that is not live must be refused too */
    int64_t found;
    int32_t rf;
    int err;
    int64_t p;
    switch ((kind + (int)atomic_load(&race_calls)) % 7) {
    case 0:
      memset(out, 0, sizeof out);
      err = mpsprot_harvest(slot, 0, RACE_PAGES, MPSPROT_ACCESS_WRITE, out, &found);
      if (err != 0 && err != EINVAL)
        bad("mpsprot_harvest", err);
      break;
    case 1:
      err = mpsprot_protect(slot, 0, RACE_PAGES * page, kind & 1 ? MPSPROT_ACCESS_WRITE : 0, &rf);
      if (err != 0 && err != EINVAL)
        bad("mpsprot_protect", err);
      break;
    case 2:
      err = mpsprot_log_drain(slot, log, 8);
      if (err != 0) /* nothing is ever logged here */
        bad("mpsprot_log_drain", err);
      break;
    case 3:
      err = mpsprot_region_set_policy(slot, MPSPROT_POLICY_UNPROTECT, 0);
      if (err != 0 && err != EINVAL)
        bad("mpsprot_region_set_policy", err);
      break;
    case 4:
      p = mpsprot_region_bitmap(slot, 0);
      if (p != 0 && p % 8 != 0)
        bad("mpsprot_region_bitmap", (long)p);
      break;
    case 5:
      p = mpsprot_region_record(slot);
      if (p != 0 && p % page != 0)
        bad("mpsprot_region_record", (long)p);
      break;
    default:
      err = mpsprot_region_alias_reset(slot);
      if (err != 0 && err != EINVAL)
        bad("mpsprot_region_alias_reset", err);
      break;
    }
    atomic_fetch_add(&race_calls, 1);
  }
  return NULL;
}

static void test_destroy_race(void) {
  pthread_t t[RACERS];
  for (int i = 0; i < RACERS; i++)
    pthread_create(&t[i], NULL, racer, (void *)(intptr_t)i);
  int failures = 0;
  int rounds = getenv("MPSPROT_TEST_EMULATED") != NULL ? RACE_ROUNDS_EMULATED : RACE_ROUNDS;
  for (int round = 0; round < rounds; round++) {
    int64_t out[4];
    int err = mpsprot_region_create(RACE_PAGES * page, out);
    if (err != 0) {
      failures++;
      continue;
    }
    atomic_store(&race_slot, (int)out[0]);
    /* Let the racers into this region, then destroy it under them. */
    long seen = atomic_load(&race_calls);
    while (atomic_load(&race_calls) < seen + 4)
      sched_yield();
    if (mpsprot_region_destroy((int)out[0]) != 0)
      failures++;
  }
  atomic_store(&race_stop, 1);
  for (int i = 0; i < RACERS; i++)
    pthread_join(t[i], NULL);
  printf("test_region_api: %d create/destroy rounds under %d racing threads, %ld calls\n",
         rounds, RACERS, atomic_load(&race_calls));
  CHECK(failures == 0, "%d rounds failed to create or destroy", failures);
  CHECK(atomic_load(&race_bad) == 0, "%ld unexpected answers, first: %s", atomic_load(&race_bad),
        race_bad_what);
  CHECK(mpsprot_region_count() == 0, "no region left");
}

/* ---- NULL output pointers: each in a child; exit 0 = the documented answer ---- */

static int live_slot(void) {
  int64_t out[4];
  if (mpsprot_region_create(4 * page, out) != 0)
    _exit(30);
  return (int)out[0];
}

static int null_create(void) { return mpsprot_region_create(4 * page, NULL) == EINVAL; }
static int null_protect(void) {
  return mpsprot_protect(live_slot(), 0, page, MPSPROT_ACCESS_WRITE, NULL) == EINVAL;
}
static int null_harvest_out(void) {
  int64_t found = 7;
  return mpsprot_harvest(live_slot(), 0, 4, 0, NULL, &found) == EINVAL && found == 0;
}
static int null_harvest_found(void) {
  uint64_t out[1] = {0};
  return mpsprot_harvest(live_slot(), 0, 4, 0, out, NULL) == EINVAL;
}
static int null_log_drain(void) { return mpsprot_log_drain(live_slot(), NULL, 8) == 0; }
static int null_parked(void) { return mpsprot_handoff_parked(NULL, 4) == -1; }
static int null_probe_uffd(void) { return mpsprot_probe_uffd_wp_async(NULL) == EINVAL; }
static int null_probe_soft_dirty(void) { return mpsprot_probe_soft_dirty(NULL) == EINVAL; }
static int null_query(void) { return mpsprot_query(0, NULL) != 0; }
static int null_uffd_harvest_found(void) {
  uint64_t out[1] = {0};
  return mpsprot_uffd_harvest(live_slot(), 0, 4, out, NULL) == EINVAL;
}
static int null_uffd_harvest_out(void) {
  int64_t found = -1;
  return mpsprot_uffd_harvest(live_slot(), 0, 4, NULL, &found) == EINVAL;
}

static void test_null_outputs(void) {
  struct {
    const char *what;
    int (*call)(void);
  } cases[] = {
      {"mpsprot_region_create(size, NULL): EINVAL", null_create},
      {"mpsprot_protect(..., restore_failed NULL): EINVAL", null_protect},
      {"mpsprot_harvest(out NULL): EINVAL", null_harvest_out},
      {"mpsprot_harvest(found NULL): EINVAL", null_harvest_found},
      {"mpsprot_log_drain(out NULL): 0", null_log_drain},
      {"mpsprot_handoff_parked(NULL, 4): -1", null_parked},
      {"mpsprot_probe_uffd_wp_async(NULL): EINVAL", null_probe_uffd},
      {"mpsprot_probe_soft_dirty(NULL): EINVAL", null_probe_soft_dirty},
      {"mpsprot_query(addr, NULL): an error", null_query},
      {"mpsprot_uffd_harvest(found NULL): EINVAL", null_uffd_harvest_found},
      {"mpsprot_uffd_harvest(out NULL): EINVAL", null_uffd_harvest_out},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
      alarm(10);
      _exit(cases[i].call() ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s %d", cases[i].what,
          WIFSIGNALED(status) ? "the child died of signal" : "the child exited with",
          WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  }
}

int main(void) {
  alarm(300);
  page = (long)mpsprot_page_size();
  CHECK(mpsprot_setup() == 0, "setup");
  test_null_outputs();
  test_destroy_race();
  return check_report("test_region_api");
}
