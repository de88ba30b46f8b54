/* test_step_string_x86_64.c -- REP string instructions stepped by the real handler, one
 * iteration per fault (docs/design/step.md .x86.string): `repnz scasq` (HotSpot's scan of
 * the secondary supers in the subtype check), `rep stosq` and `lodsq` over two no-access
 * pages of a STEP region, the scans crossing from one page to the next.  Each element on
 * a protected page faults, is stepped, and the CPU resumes the instruction with RCX and
 * RDI advanced; the registers and flags after the instruction must equal those of the
 * same instruction on an unprotected copy, every fault must be stepped and logged, none
 * may fall back to unprotect.  x86-64 Linux only (else SKIPPED). */
#include "check.h"
#include "mpsprot.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <unistd.h>

struct scan {
  uint64_t rcx, rdi, flags;
};

/* repnz scasq for rax from rdi, rcx elements (DF clear) */
static struct scan scasq(uint64_t rax, const uint64_t *p, uint64_t n) {
  struct scan s;
  uint64_t c = n, di = (uint64_t)(uintptr_t)p, fl;
  __asm__ volatile("repnz scasq\n\tpushfq\n\tpopq %2"
                   : "+c"(c), "+D"(di), "=r"(fl)
                   : "a"(rax)
                   : "cc", "memory");
  s.rcx = c;
  s.rdi = di;
  s.flags = fl & 0x8D5;
  return s;
}

static struct scan stosq(uint64_t rax, uint64_t *p, uint64_t n) {
  struct scan s;
  uint64_t c = n, di = (uint64_t)(uintptr_t)p;
  __asm__ volatile("rep stosq" : "+c"(c), "+D"(di) : "a"(rax) : "memory");
  s.rcx = c;
  s.rdi = di;
  s.flags = 0;
  return s;
}

static uint64_t lodsq(const uint64_t *p, uint64_t *rsi_after) {
  uint64_t v, si = (uint64_t)(uintptr_t)p;
  __asm__ volatile("lodsq" : "=a"(v), "+S"(si) : : "memory");
  *rsi_after = si;
  return v;
}

int main(void) {
  alarm(60);
  CHECK(mpsprot_setup() == 0, "setup");
  int64_t page = mpsprot_page_size(), o[4];
  int err = mpsprot_region_create(2 * page, o);
  CHECK(err == 0, "region create: %d", err);
  if (err != 0)
    return check_report("test_step_string_x86_64");
  int slot = (int)o[0];
  uint8_t *p = (uint8_t *)(uintptr_t)o[1], *alias = (uint8_t *)(uintptr_t)o[2];
  static uint64_t copy[16];
  /* 12 words from 5 words before the page boundary; the key at index 8 */
  uint64_t *arr = (uint64_t *)(void *)(p + page - 40), *arr_a = (uint64_t *)(void *)(alias + page - 40);
  for (int i = 0; i < 12; i++)
    arr_a[i] = copy[i] = 0x1000 + (uint64_t)i;
  int32_t rf;
  CHECK(mpsprot_region_set_policy(slot, MPSPROT_POLICY_STEP, MPSPROT_FALLBACK_FAIL_FAST) == 0,
        "policy STEP");
  CHECK(mpsprot_protect(slot, 0, 2 * page, MPSPROT_ACCESS_ALL, &rf) == 0, "protect no access");
  int64_t stepped0 = mpsprot_counter(MPSPROT_COUNT_STEPPED);
  int64_t unprot0 = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  int64_t faults = 0;

  /* 1. repnz scasq: found at index 8 (9 iterations, 9 faults) */
  struct scan want = scasq(0x1008, copy, 12), got = scasq(0x1008, arr, 12);
  faults += 9;
  CHECK(got.rcx == want.rcx && got.flags == want.flags, "repnz scasq found: rcx %llu (%llu), flags %#llx (%#llx)",
        (unsigned long long)got.rcx, (unsigned long long)want.rcx, (unsigned long long)got.flags,
        (unsigned long long)want.flags);
  CHECK(got.rdi - (uint64_t)(uintptr_t)arr == want.rdi - (uint64_t)(uintptr_t)copy, "rdi after the scan");
  /* 2. not found: all 12 elements, rcx 0, ZF clear */
  want = scasq(0x77, copy, 12);
  got = scasq(0x77, arr, 12);
  faults += 12;
  CHECK(got.rcx == 0 && want.rcx == 0 && got.flags == want.flags, "repnz scasq not found: flags %#llx (%#llx)",
        (unsigned long long)got.flags, (unsigned long long)want.flags);
  /* 3. rcx 0: no iteration, no fault */
  got = scasq(0x1000, arr, 0);
  CHECK(got.rcx == 0 && got.rdi == (uint64_t)(uintptr_t)arr, "rcx 0: nothing");
  /* 4. rep stosq over 6 words across the boundary */
  stosq(0xABCD, copy, 6);
  got = stosq(0xABCD, arr, 6);
  faults += 6;
  CHECK(got.rcx == 0 && got.rdi == (uint64_t)(uintptr_t)(arr + 6), "rep stosq registers");
  CHECK(memcmp(arr_a, copy, 12 * 8) == 0, "rep stosq memory equals the unprotected copy's");
  /* 5. lodsq of the word after the boundary */
  uint64_t si;
  uint64_t v = lodsq(arr + 5, &si);
  faults += 1;
  CHECK(v == copy[5] && si == (uint64_t)(uintptr_t)(arr + 6), "lodsq");

  int64_t stepped = mpsprot_counter(MPSPROT_COUNT_STEPPED) - stepped0;
  CHECK(stepped == faults, "stepped %lld of %lld faults", (long long)stepped, (long long)faults);
  CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) == unprot0, "no fault fell back to unprotect");
  static struct mpsprot_log_entry e[64];
  int n = mpsprot_log_drain(slot, e, 64);
  CHECK(n == faults, "every iteration is in the log (%d)", n);
  if (n >= 9)
    CHECK(e[0].address == (uint64_t)(uintptr_t)arr && e[0].size == 8 && e[0].before == 0x1000
              && e[8].address == (uint64_t)(uintptr_t)(arr + 8) && e[8].before == 0x1008,
          "the log names each element scanned");
  printf("test_step_string_x86_64: %lld string iterations stepped through the signal frame\n",
         (long long)faults);
  CHECK(mpsprot_region_destroy(slot) == 0, "destroy");
  return check_report("test_step_string_x86_64");
}
#else
int main(void) {
  printf("test_step_string_x86_64: SKIPPED: not an x86-64 host\n");
  return 0;
}
#endif
