/* test_step_vex_x86_64.c -- VEX loads and 256-bit moves stepped by the real handler, so
 * that the upper vector state goes through the XSAVE area of the signal frame
 * (prmc_x86_64.c): each case faults on a no-access page of a STEP region with one
 * instruction, and the registers are read back right after it in the same asm block.
 * Checks: a YMM load defines all 32 bytes (also when the AVX state was in its initial
 * state before: vzeroall, so the frame's xstate_bv bit 2 is clear and restore must set
 * it); a VEX.128 load zeroes bits 128..255 (and 256..511 of the ZMM register where the
 * CPU has AVX-512); a YMM store writes the upper half; a legacy SSE load keeps the upper
 * half; registers the instruction does not name keep their whole YMM/ZMM value; every
 * access was stepped (the STEPPED counter), none fell back, the page stays protected.
 * x86-64 with AVX only (else SKIPPED). */
#include "check.h"
#include "mpsprot.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <unistd.h>

static uint8_t *p;     /* the mutator's view: no access */
static uint8_t *alias; /* the same page, always read-write */
static uint8_t pattern[64] __attribute__((aligned(64)));
static uint8_t ones[64] __attribute__((aligned(64)));
static uint8_t out[64] __attribute__((aligned(64))), out2[64] __attribute__((aligned(64)));

static void fill(void) {
  for (int i = 0; i < 64; i++) {
    alias[i] = (uint8_t)(0xA0 + i);
    pattern[i] = (uint8_t)(0x10 + 3 * i);
  }
  memset(ones, 0xFF, sizeof ones);
  memset(out, 0x55, sizeof out);
  memset(out2, 0x55, sizeof out2);
}

static int expect_bytes(const char *what, const uint8_t *got, const uint8_t *want, int n) {
  for (int i = 0; i < n; i++)
    if (got[i] != want[i]) {
      CHECK(0, "%s: byte %d is %#x, expected %#x", what, i, got[i], want[i]);
      return 0;
    }
  CHECK(1, "%s", what);
  return 1;
}

int main(void) {
  alarm(60);
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx")) {
    printf("test_step_vex_x86_64: SKIPPED: the CPU has no AVX\n");
    return 0;
  }
  int avx512 = __builtin_cpu_supports("avx512f");
  CHECK(mpsprot_setup() == 0, "setup");
  int64_t page = mpsprot_page_size(), o[4];
  int err = mpsprot_region_create(page, o);
  CHECK(err == 0, "region create: %d", err);
  if (err != 0)
    return check_report("test_step_vex_x86_64");
  int slot = (int)o[0];
  p = (uint8_t *)(uintptr_t)o[1];
  alias = (uint8_t *)(uintptr_t)o[2];
  int32_t rf;
  CHECK(mpsprot_region_set_policy(slot, MPSPROT_POLICY_STEP, MPSPROT_FALLBACK_FAIL_FAST) == 0,
        "policy STEP");
  CHECK(mpsprot_protect(slot, 0, page, MPSPROT_ACCESS_ALL, &rf) == 0, "protect no access");
  int64_t stepped0 = mpsprot_counter(MPSPROT_COUNT_STEPPED);
  int64_t unprot0 = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  int faults = 0;
  uint8_t want[64];

  /* 1. vmovdqu ymm1, [p]: all 32 bytes, ymm5 untouched. */
  fill();
  __asm__ volatile("vmovdqu (%2), %%ymm5\n\t"
                   "vpcmpeqd %%ymm1, %%ymm1, %%ymm1\n\t"
                   "vmovdqu (%0), %%ymm1\n\t"
                   "vmovdqu %%ymm1, (%1)\n\t"
                   "vmovdqu %%ymm5, (%3)\n\t"
                   "vzeroupper"
                   : : "r"(p), "r"(out), "r"(pattern), "r"(out2) : "xmm1", "xmm5", "memory");
  faults++;
  expect_bytes("vmovdqu ymm1, [p] loads 32 bytes", out, alias, 32);
  expect_bytes("ymm5 keeps its value", out2, pattern, 32);

  /* 2. The same after vzeroall: the AVX state is initial in the frame (xstate_bv bit 2
   * clear); the restore must set it, or the upper half would come back zero. */
  fill();
  __asm__ volatile("vzeroall\n\t"
                   "vmovdqu (%0), %%ymm1\n\t"
                   "vmovdqu %%ymm1, (%1)\n\t"
                   "vzeroupper"
                   : : "r"(p), "r"(out) : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
                     "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
                     "xmm15", "memory");
  faults++;
  expect_bytes("vmovdqu ymm1, [p] after vzeroall loads 32 bytes", out, alias, 32);

  /* 3. vmovss xmm2, [p] zeroes bits 32..255. */
  fill();
  __asm__ volatile("vpcmpeqd %%ymm2, %%ymm2, %%ymm2\n\t"
                   "vmovss (%0), %%xmm2\n\t"
                   "vmovdqu %%ymm2, (%1)\n\t"
                   "vzeroupper"
                   : : "r"(p), "r"(out) : "xmm2", "memory");
  faults++;
  memset(want, 0, sizeof want);
  memcpy(want, alias, 4);
  expect_bytes("vmovss xmm2, [p] zeroes the rest of ymm2", out, want, 32);

  /* 4. vmovq xmm3, [p] (F3 0F 7E) with ymm3 all ones. */
  fill();
  __asm__ volatile("vpcmpeqd %%ymm3, %%ymm3, %%ymm3\n\t"
                   "vmovq (%0), %%xmm3\n\t"
                   "vmovdqu %%ymm3, (%1)\n\t"
                   "vzeroupper"
                   : : "r"(p), "r"(out) : "xmm3", "memory");
  faults++;
  memset(want, 0, sizeof want);
  memcpy(want, alias, 8);
  expect_bytes("vmovq xmm3, [p] zeroes the rest of ymm3", out, want, 32);

  /* 5. vmovdqu [p+32], ymm4: the upper half is stored. */
  fill();
  __asm__ volatile("vmovdqu (%1), %%ymm4\n\t"
                   "vmovdqu %%ymm4, 32(%0)\n\t"
                   "vzeroupper"
                   : : "r"(p), "r"(pattern) : "xmm4", "memory");
  faults++;
  expect_bytes("vmovdqu [p+32], ymm4 stores 32 bytes", alias + 32, pattern, 32);

  /* 6. movups xmm6, [p] (legacy SSE) keeps bits 128..255. */
  fill();
  __asm__ volatile("vmovdqu (%2), %%ymm6\n\t"
                   "movups (%0), %%xmm6\n\t"
                   "vmovdqu %%ymm6, (%1)\n\t"
                   "vzeroupper"
                   : : "r"(p), "r"(out), "r"(pattern) : "xmm6", "memory");
  faults++;
  memcpy(want, alias, 16);
  memcpy(want + 16, pattern + 16, 16);
  expect_bytes("movups xmm6, [p] keeps the upper half of ymm6", out, want, 32);

  /* 7. AVX-512: vmovsd xmm7, [p] zeroes bits 64..511 of zmm7; zmm8 keeps all 64 bytes. */
  if (avx512) {
    fill();
    __asm__ volatile("vmovdqu64 (%1), %%zmm7\n\t"
                     "vmovdqu64 (%3), %%zmm8\n\t"
                     "vmovsd (%0), %%xmm7\n\t"
                     "vmovdqu64 %%zmm7, (%2)\n\t"
                     "vmovdqu64 %%zmm8, (%4)\n\t"
                     "vzeroupper"
                     : : "r"(p), "r"(ones), "r"(out), "r"(pattern), "r"(out2)
                     : "xmm7", "xmm8", "memory");
    faults++;
    memset(want, 0, sizeof want);
    memcpy(want, alias, 8);
    expect_bytes("vmovsd xmm7, [p] zeroes the rest of zmm7", out, want, 64);
    expect_bytes("zmm8 keeps its 64 bytes", out2, pattern, 64);
    /* 8. vmovups ymm9, [p] zeroes bits 256..511. */
    fill();
    __asm__ volatile("vmovdqu64 (%1), %%zmm9\n\t"
                     "vmovups (%0), %%ymm9\n\t"
                     "vmovdqu64 %%zmm9, (%2)\n\t"
                     "vzeroupper"
                     : : "r"(p), "r"(ones), "r"(out) : "xmm9", "memory");
    faults++;
    memset(want, 0, sizeof want);
    memcpy(want, alias, 32);
    expect_bytes("vmovups ymm9, [p] zeroes bits 256..511 of zmm9", out, want, 64);
  }

  int64_t stepped = mpsprot_counter(MPSPROT_COUNT_STEPPED) - stepped0;
  CHECK(stepped == faults, "stepped %lld of %d faults", (long long)stepped, faults);
  CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) == unprot0, "a fault fell back to unprotect");
  struct mpsprot_log_entry e[16];
  CHECK(mpsprot_log_drain(slot, e, 16) == faults, "every access is in the log");
  printf("test_step_vex_x86_64: %d VEX/YMM faults stepped through the signal frame%s\n", faults,
         avx512 ? " (with the AVX-512 cases)" : " (no AVX-512 here: its cases not run)");
  return check_report("test_step_vex_x86_64");
}
#else
int main(void) {
  printf("test_step_vex_x86_64: SKIPPED: not an x86-64 host\n");
  return 0;
}
#endif
