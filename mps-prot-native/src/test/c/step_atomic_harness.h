/* step_atomic_harness.h -- the body of test_step_atomic_x86_64.c and
 * test_step_atomic_aarch64.c: atomic read-modify-writes stepped concurrently.  Several
 * threads increment counters that lie on a no-access page of a STEP region, so every
 * access faults and is stepped through the alias (the page never opens), while other
 * threads increment the same counters through the alias view directly (no fault: faults on
 * one page are serialised by its BUSY bit, but these are not); the final counts must be
 * exact, which they are only if each stepped read-modify-write is one atomic operation on
 * the shared memory.  Also checks that every access was stepped (the STEPPED counter) and
 * none fell back to unprotect.  The workers run in rounds of ROUND iterations; between
 * rounds, with every worker waiting at a barrier, the main thread empties the region's log
 * so that it never fills (a full log would fall back to unprotect).
 *
 * The including file defines, before including this after check.h and mpsprot.h:
 *   ATOMIC_TEST_NAME, and ATOMIC_ADD64, _CAS64, _INC32, _XADD32 (the instructions' names);
 *   static uint64_t load64(uint64_t *p)                 a plain load
 *   static void add64(uint64_t *p, uint64_t v)          atomic add
 *   static uint64_t cas64(uint64_t *p, uint64_t expected, uint64_t desired)
 *                                                       compare-and-swap: the value found
 *   static void inc32(uint32_t *p, uint32_t v)          atomic add, result unused
 *   static uint32_t xadd32(uint32_t *p, uint32_t v)     atomic fetch-and-add
 *   static int atomic_test_runs(void)                   0 (after a SKIPPED line) where the
 *                                                       CPU lacks the instructions */
#ifndef MPSPROT_STEP_ATOMIC_HARNESS_H
#define MPSPROT_STEP_ATOMIC_HARNESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define THREADS 4
#define ITERS 1500
#define ROUND 20

static pthread_barrier_t round_start, round_end;

static uint64_t *words; /* the mutator's view of the protected page */
static int slot;
static atomic_long attempts; /* faulting accesses the workers made */

static void *worker(void *arg) {
  (void)arg;
  long n = 0;
  for (int i = 0; i < ITERS; i++) {
    if (i % ROUND == 0) {
      if (i != 0)
        pthread_barrier_wait(&round_end);
      pthread_barrier_wait(&round_start);
    }
    add64(&words[0], 1);
    n++;
    for (;;) { /* increment words[1] by a compare-and-swap loop */
      uint64_t old = load64(&words[1]);
      n += 2;
      if (cas64(&words[1], old, old + 1) == old)
        break;
    }
    inc32((uint32_t *)&words[2], 1);
    n++;
    xadd32((uint32_t *)&words[3], 1);
    n++;
  }
  pthread_barrier_wait(&round_end);
  atomic_fetch_add(&attempts, n);
  return NULL;
}

static uint64_t *alias_words;
static atomic_int workers_done;
static atomic_long alias_incs; /* increments of words 0 (and 2, 3) through the alias */
static atomic_long alias_cas;  /* of word 1 */

/* Increments every counter through the alias with the same instructions, unstepped. */
static void *alias_worker(void *arg) {
  (void)arg;
  long n = 0;
  while (!atomic_load(&workers_done)) {
    add64(&alias_words[0], 1);
    if (n % 65536 != 0) { /* rarely: a stepped compare-and-swap loop must still finish */
      inc32((uint32_t *)&alias_words[2], 1);
      xadd32((uint32_t *)&alias_words[3], 1);
      n++;
      continue;
    }
    uint64_t old = alias_words[1], prev;
    while ((prev = cas64(&alias_words[1], old, old + 1)) != old)
      old = prev;
    inc32((uint32_t *)&alias_words[2], 1);
    xadd32((uint32_t *)&alias_words[3], 1);
    n++;
  }
  atomic_fetch_add(&alias_incs, n);
  atomic_fetch_add(&alias_cas, (n + 65535) / 65536);
  return NULL;
}

static void drain(void) {
  struct mpsprot_log_entry e[256];
  while (mpsprot_log_drain(slot, e, 256) > 0)
    ;
}

int main(void) {
  alarm(120);
  if (!atomic_test_runs())
    return 0;
  CHECK(mpsprot_setup() == 0, "setup");
  int64_t page = mpsprot_page_size(), out[4];
  int err = mpsprot_region_create(page, out);
  CHECK(err == 0, "region create: %d", err);
  if (err != 0)
    return check_report(ATOMIC_TEST_NAME);
  slot = (int)out[0];
  words = (uint64_t *)(uintptr_t)out[1];
  uint64_t *alias = (uint64_t *)(uintptr_t)out[2];
  memset(alias, 0, 64);
  int32_t rf;
  CHECK(mpsprot_region_set_policy(slot, MPSPROT_POLICY_STEP, MPSPROT_FALLBACK_FAIL_FAST) == 0,
        "policy STEP");
  CHECK(mpsprot_protect(slot, 0, page, MPSPROT_ACCESS_ALL, &rf) == 0, "protect no access");
  int64_t stepped0 = mpsprot_counter(MPSPROT_COUNT_STEPPED);
  int64_t unprot0 = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  int64_t full0 = mpsprot_counter(MPSPROT_COUNT_LOG_FULL);

  alias_words = alias;
  pthread_t t[THREADS], at[2];
  for (int i = 0; i < 2; i++)
    pthread_create(&at[i], NULL, alias_worker, NULL);
  pthread_barrier_init(&round_start, NULL, THREADS + 1);
  pthread_barrier_init(&round_end, NULL, THREADS + 1);
  for (int i = 0; i < THREADS; i++)
    pthread_create(&t[i], NULL, worker, NULL);
  for (int r = 0; r < ITERS / ROUND; r++) {
    drain();
    pthread_barrier_wait(&round_start);
    pthread_barrier_wait(&round_end);
  }
  for (int i = 0; i < THREADS; i++)
    pthread_join(t[i], NULL);
  atomic_store(&workers_done, 1);
  for (int i = 0; i < 2; i++)
    pthread_join(at[i], NULL);
  drain();

  long total = (long)THREADS * ITERS + atomic_load(&alias_incs);
  long stepped = (long)(mpsprot_counter(MPSPROT_COUNT_STEPPED) - stepped0);
  CHECK(alias[0] == (uint64_t)total, ATOMIC_ADD64 " count %llu, expected %ld",
        (unsigned long long)alias[0], total);
  long total_cas = (long)THREADS * ITERS + atomic_load(&alias_cas);
  CHECK(alias[1] == (uint64_t)total_cas, ATOMIC_CAS64 " loop count %llu, expected %ld",
        (unsigned long long)alias[1], total_cas);
  CHECK((uint32_t)alias[2] == (uint32_t)total, ATOMIC_INC32 " count %u, expected %ld",
        (uint32_t)alias[2], total);
  CHECK((uint32_t)alias[3] == (uint32_t)total, ATOMIC_XADD32 " count %u, expected %ld",
        (uint32_t)alias[3], total);
  CHECK(stepped == atomic_load(&attempts), "stepped %ld of %ld accesses", stepped,
        (long)atomic_load(&attempts));
  CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) == unprot0, "a fault fell back to unprotect");
  CHECK(mpsprot_counter(MPSPROT_COUNT_LOG_FULL) == full0, "the log filled");
  printf(ATOMIC_TEST_NAME ": %d stepping threads, %ld accesses stepped, 2 alias threads "
         "(%ld increments each counter), counts %llu %llu %u %u\n",
         THREADS, stepped, (long)atomic_load(&alias_incs), (unsigned long long)alias[0], (unsigned long long)alias[1],
         (uint32_t)alias[2], (uint32_t)alias[3]);
  return check_report(ATOMIC_TEST_NAME);
}
#endif /* MPSPROT_STEP_ATOMIC_HARNESS_H */
