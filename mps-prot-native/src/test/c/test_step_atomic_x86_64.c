/* test_step_atomic_x86_64.c -- LOCK XADD, LOCK CMPXCHG (in a load/compare-and-swap
 * loop), LOCK INC and LOCK XADD (32-bit) stepped concurrently (step_atomic_harness.h says
 * how).  x86-64 only. */
#include "check.h"
#include "mpsprot.h"

#include <stdint.h>
#include <stdio.h>

#if defined(__x86_64__)
#define ATOMIC_TEST_NAME "test_step_atomic_x86_64"
#define ATOMIC_ADD64 "lock xadd"
#define ATOMIC_CAS64 "lock cmpxchg"
#define ATOMIC_INC32 "lock inc"
#define ATOMIC_XADD32 "lock xadd32"

static uint64_t load64(uint64_t *p) {
  uint64_t v;
  __asm__ volatile("movq %1, %0" : "=r"(v) : "m"(*p) : "memory");
  return v;
}

static void add64(uint64_t *p, uint64_t v) {
  __asm__ volatile("lock xaddq %0, %1" : "+r"(v), "+m"(*p) : : "memory", "cc");
}

static uint64_t cas64(uint64_t *p, uint64_t expected, uint64_t desired) {
  uint64_t prev;
  __asm__ volatile("lock cmpxchgq %2, %1"
                   : "=a"(prev), "+m"(*p)
                   : "r"(desired), "0"(expected)
                   : "memory", "cc");
  return prev;
}

static void inc32(uint32_t *p, uint32_t v) {
  (void)v; /* always 1 here: LOCK INC */
  __asm__ volatile("lock incl %0" : "+m"(*p) : : "memory", "cc");
}

static uint32_t xadd32(uint32_t *p, uint32_t v) {
  __asm__ volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory", "cc");
  return v;
}

static int atomic_test_runs(void) { return 1; }

#include "step_atomic_harness.h"
#else
int main(void) {
  printf("test_step_atomic_x86_64: SKIPPED: not an x86-64 host\n");
  return 0;
}
#endif
