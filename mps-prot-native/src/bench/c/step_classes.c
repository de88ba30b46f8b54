/* step_classes.c -- the cost of stepping each instruction class beside unprotecting
 * (docs/design/step.md .cost), x86-64 Linux.
 *
 * Build and run from mps-prot-native/ after `make all`:
 *   cc -O2 -Isrc/main/c -o target/native/step_classes src/bench/c/step_classes.c \
 *      -Ltarget/classes/linux-x86-64 -lmpsprot -Wl,-rpath,$PWD/target/classes/linux-x86-64
 *   target/native/step_classes [iterations]
 *
 * STEP: one no-access page of a STEP region; each iteration executes one instruction of
 * the class on it (a fault, the handler steps it through the alias, the page stays
 * protected), so the time per iteration is fault + emulation + return.  The log is
 * drained every 1,000 iterations (outside the timing's inner loop cost, which it adds
 * about 1%).  UNPROTECT: the same store on a page of an UNPROTECT region re-protected
 * before each iteration (protect + fault + handler opens the page + the store retries).
 * Prints the median of 5 runs, ns per instruction. */
#define _GNU_SOURCE
#include "mpsprot.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int slot;
static uint8_t *p;

static void drain(void) {
  struct mpsprot_log_entry e[256];
  while (mpsprot_log_drain(slot, e, 256) > 0)
    ;
}

#define CLASS(name, asm_text, ...)                                                       \
  static void name(void) { __asm__ volatile(asm_text : : "r"(p) : __VA_ARGS__); }
CLASS(c_load, "movq (%0), %%rax", "rax", "memory")
CLASS(c_store, "movq %%rax, 8(%0)", "memory")
CLASS(c_alu, "addq $1, 16(%0)", "cc", "memory")
CLASS(c_cmp, "cmpq $7, 16(%0)", "cc", "memory")
CLASS(c_lock_xadd, "movl $1, %%eax\n\tlock xaddq %%rax, 24(%0)", "rax", "cc", "memory")
CLASS(c_lock_cmpxchg, "xorl %%eax, %%eax\n\tlock cmpxchgq %%rcx, 32(%0)", "rax", "rcx", "cc",
      "memory")
CLASS(c_movsd_load, "vmovsd 40(%0), %%xmm1", "xmm1", "memory")
CLASS(c_movsd_store, "vmovsd %%xmm1, 48(%0)", "memory")
CLASS(c_ymm_load, "vmovdqu 64(%0), %%ymm2\n\tvzeroupper", "xmm2", "memory")
CLASS(c_scas, "movq %0, %%rdi\n\taddq $256, %%rdi\n\tmovl $1, %%ecx\n\trepnz scasq", "rdi",
      "rcx", "cc", "memory")
/* AVX-512 (run only where the CPU has it): the EVEX state goes through the frame's XSAVE
 * opmask, ZMM_Hi256 and Hi16_ZMM components */
__attribute__((target("avx512f"))) static void c_evex_masked_store(void) {
  __asm__ volatile("movl $5, %%eax\n\tkmovw %%eax, %%k7\n\tvmovdqu64 %%ymm0, 128(%0)%{%%k7%}"
                   : : "r"(p) : "rax", "k7", "memory");
}
__attribute__((target("avx512f"))) static void c_zmm_load(void) {
  __asm__ volatile("vmovdqu64 192(%0), %%zmm17\n\tvzeroupper" : : "r"(p) : "xmm17", "memory");
}

static double median(double *v, int n) {
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (v[j] < v[i]) {
        double t = v[i];
        v[i] = v[j];
        v[j] = t;
      }
  return v[n / 2];
}

static double time_step(void (*fn)(void), long iters) {
  double r[5];
  for (int k = 0; k < 5; k++) {
    int64_t t0 = now_ns();
    for (long i = 0; i < iters; i++) {
      fn();
      if (i % 1000 == 999)
        drain();
    }
    r[k] = (double)(now_ns() - t0) / (double)iters;
    drain();
  }
  return median(r, 5);
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? atol(argv[1]) : 20000;
  if (mpsprot_setup() != 0)
    return 1;
  int64_t page = mpsprot_page_size(), o[4];
  if (mpsprot_region_create(page, o) != 0)
    return 1;
  slot = (int)o[0];
  p = (uint8_t *)(uintptr_t)o[1];
  int32_t rf;
  mpsprot_region_set_policy(slot, MPSPROT_POLICY_STEP, MPSPROT_FALLBACK_FAIL_FAST);
  mpsprot_protect(slot, 0, page, MPSPROT_ACCESS_ALL, &rf);
  struct {
    const char *name;
    void (*fn)(void);
  } classes[] = {
      {"mov load (8 bytes)", c_load},          {"mov store", c_store},
      {"add m64, imm (read-modify-write)", c_alu}, {"cmp m64, imm", c_cmp},
      {"lock xadd", c_lock_xadd},              {"lock cmpxchg", c_lock_cmpxchg},
      {"vmovsd load (VEX, XSAVE state)", c_movsd_load}, {"vmovsd store", c_movsd_store},
      {"vmovdqu ymm load (XSAVE state)", c_ymm_load},
      {"repnz scasq (one iteration)", c_scas},
      {"vmovdqu64 [m]{k7}, ymm0 (EVEX)", c_evex_masked_store},
      {"vmovdqu64 zmm17, [m] (EVEX)", c_zmm_load},
  };
  __builtin_cpu_init();
  int avx512 = __builtin_cpu_supports("avx512f");
  long nclasses = 0;
  int64_t s0 = mpsprot_counter(MPSPROT_COUNT_STEPPED);
  printf("step_classes: median of 5 runs of %ld instructions, ns per instruction\n", iters);
  for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
    if (!avx512 && (classes[i].fn == c_evex_masked_store || classes[i].fn == c_zmm_load)) {
      printf("  STEP %-34s SKIPPED: no AVX-512\n", classes[i].name);
      continue;
    }
    printf("  STEP %-34s %8.0f\n", classes[i].name, time_step(classes[i].fn, iters));
    nclasses++;
  }
  long stepped = (long)(mpsprot_counter(MPSPROT_COUNT_STEPPED) - s0);
  /* UNPROTECT: re-protect, store, the handler opens the page. */
  int64_t o2[4];
  if (mpsprot_region_create(page, o2) != 0)
    return 1;
  int uslot = (int)o2[0];
  uint8_t *q = (uint8_t *)(uintptr_t)o2[1];
  mpsprot_region_set_policy(uslot, MPSPROT_POLICY_UNPROTECT, MPSPROT_FALLBACK_FAIL_FAST);
  double r[5];
  for (int k = 0; k < 5; k++) {
    int64_t t0 = now_ns();
    for (long i = 0; i < iters; i++) {
      mpsprot_protect(uslot, 0, page, MPSPROT_ACCESS_ALL, &rf);
      __asm__ volatile("movq %%rax, 8(%0)" : : "r"(q) : "memory");
    }
    r[k] = (double)(now_ns() - t0) / (double)iters;
  }
  printf("  UNPROTECT (protect + store fault + open) %8.0f\n", median(r, 5));
  printf("  stepped %ld faults, expected %ld\n", stepped, nclasses * 5 * iters);
  return stepped == nclasses * 5 * iters ? 0 : 1;
}
