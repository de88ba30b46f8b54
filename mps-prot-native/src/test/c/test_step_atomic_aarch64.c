/* test_step_atomic_aarch64.c -- LDADDAL, CASAL (in a load/compare-and-swap loop), STADD
 * and LDADD stepped concurrently (step_atomic_harness.h says how); run under qemu-user by
 * make check-aarch64, where qemu executes each atomic as a host atomic.  aarch64 with LSE
 * only (else SKIPPED). */
#include "check.h"
#include "mpsprot.h"

#include <stdint.h>
#include <stdio.h>

#if defined(__aarch64__)
#include <sys/auxv.h>

#define ATOMIC_TEST_NAME "test_step_atomic_aarch64"
#define ATOMIC_ADD64 "ldaddal"
#define ATOMIC_CAS64 "casal"
#define ATOMIC_INC32 "stadd"
#define ATOMIC_XADD32 "ldadd32"

#define LSE ".arch armv8.1-a\n\t"

static uint64_t load64(uint64_t *p) { /* a plain LDR: stepped too */
  uint64_t v;
  __asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(p) : "memory");
  return v;
}

static void add64(uint64_t *p, uint64_t v) {
  uint64_t old;
  __asm__ volatile(LSE "ldaddal %1, %0, [%2]" : "=&r"(old) : "r"(v), "r"(p) : "memory");
}

/* casal: returns the value found */
static uint64_t cas64(uint64_t *p, uint64_t expected, uint64_t desired) {
  __asm__ volatile(LSE "casal %0, %1, [%2]" : "+r"(expected) : "r"(desired), "r"(p) : "memory");
  return expected;
}

static void inc32(uint32_t *p, uint32_t v) {
  __asm__ volatile(LSE "stadd %w0, [%1]" : : "r"(v), "r"(p) : "memory");
}

static uint32_t xadd32(uint32_t *p, uint32_t v) {
  uint32_t old;
  __asm__ volatile(LSE "ldadd %w1, %w0, [%2]" : "=&r"(old) : "r"(v), "r"(p) : "memory");
  return old;
}

static int atomic_test_runs(void) {
  if (getauxval(AT_HWCAP) & HWCAP_ATOMICS)
    return 1;
  printf("test_step_atomic_aarch64: SKIPPED: the CPU has no LSE atomics\n");
  return 0;
}

#include "step_atomic_harness.h"
#else
int main(void) {
  printf("test_step_atomic_aarch64: SKIPPED: not an aarch64 build (runs in make check-aarch64)\n");
  return 0;
}
#endif
