/* test_e2e_aarch64.c -- end to end on aarch64 (real hardware or qemu-user): the shim's
 * own SIGSEGV handler steps real loads and stores on protected pages.
 *
 * STEP: every load/store form the aarch64 decoder steps is executed as one instruction
 * written in inline assembly (so the exact form is what runs), once on an unprotected
 * copy of the region's memory and once on a protected page of a region whose policy is
 * STEP.  What the CPU (or qemu) computed on the copy is the reference: the registers
 * x0..x7 and v0..v3 afterwards (the base register compared relative to its buffer, for
 * writeback), and every byte of memory (the region read through its alias).  Each run
 * must also be stepped (STEPPED + 1, UNPROTECTED + 0, the fault counted under its access
 * kind), leave the page protected (the record, no dirty bit; /proc/self/maps at the end)
 * and leave exactly one log entry with the access's address, kind, size and values.
 * Loads run on a no-access page; stores on a read-only page and on a no-access page;
 * each run is repeated with memory whose bytes all have the top bit set and all have it
 * clear, so that every sign- and zero-extension is seen both ways.
 *
 * HANDOFF: a native mutator faults, a second thread takes the ticket and checks the
 * context: the exact address, the kind, NATIVE, pc and the instruction word; and where
 * the kind came from: from the ESR record exactly when the kernel delivers one (asked of
 * the kernel first, with a plain handler before the shim is set up: qemu-user delivers
 * none, so there the kind must come from the instruction).  It then steps the load itself
 * (the collector's ProtStepInstruction) or opens the page.
 *
 * Built on every host (the Makefile compiles every test); only an aarch64 build has
 * something to run, elsewhere it prints a skip line and passes.
 */
#include "check.h"
#include "mpsprot.h"

#include <stdio.h>

#if !defined(__aarch64__)
int main(void) {
  printf("test_e2e_aarch64: skipped: built for another CPU (runs in make check-aarch64)\n");
  return 0;
}
#else

#include "probe_posix.h" /* os_perms */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define RD MPSPROT_ACCESS_READ
#define WR MPSPROT_ACCESS_WRITE

static long page;

/* ---- The register state around one instruction ------------------------------------ */

struct cpu {
  _Alignas(16) uint64_t x[8]; /* x0..x7 */
  uint8_t v[4][16];           /* v0..v3 */
};

/* x16 holds the struct cpu pointer; the instruction under test uses x0..x7, v0..v3. */
#define LOAD_STATE                                                                       \
  "mov x16, %0\n\t"                                                                      \
  "ldp x0, x1, [x16]\n\tldp x2, x3, [x16, #16]\n\tldp x4, x5, [x16, #32]\n\t"            \
  "ldp x6, x7, [x16, #48]\n\tldp q0, q1, [x16, #64]\n\tldp q2, q3, [x16, #96]\n\t"
#define SAVE_STATE                                                                       \
  "stp x0, x1, [x16]\n\tstp x2, x3, [x16, #16]\n\tstp x4, x5, [x16, #32]\n\t"            \
  "stp x6, x7, [x16, #48]\n\tstp q0, q1, [x16, #64]\n\tstp q2, q3, [x16, #96]\n\t"

/* The cases: id, the instruction, access kind, bytes accessed, x1's offset from the
 * protected page's start (negative: the access starts on the open page below and
 * crosses into the protected one), the index register x2, and ea - x1. */
#define CASES(X)                                                                         \
  /* LDR/STR X and W, unsigned immediate */                                              \
  X(ldr_x_uimm, "ldr x0, [x1, #8]", RD, 8, 0x100, 0, 8)                                  \
  X(ldr_w_uimm, "ldr w0, [x1, #4]", RD, 4, 0x100, 0, 4)                                  \
  X(ldr_x_uimm_max, "ldr x0, [x1, #4088]", RD, 8, 0, 0, 4088)                            \
  X(ldr_xzr, "ldr xzr, [x1, #16]", RD, 8, 0x100, 0, 16)                                  \
  X(str_x_uimm, "str x3, [x1, #16]", WR, 8, 0x100, 0, 16)                                \
  X(str_w_uimm, "str w3, [x1, #12]", WR, 4, 0x100, 0, 12)                                \
  X(str_xzr, "str xzr, [x1, #8]", WR, 8, 0x100, 0, 8)                                    \
  /* pre- and post-index with writeback */                                               \
  X(ldr_x_pre, "ldr x0, [x1, #16]!", RD, 8, 0x100, 0, 16)                                \
  X(ldr_w_pre_neg, "ldr w0, [x1, #-4]!", RD, 4, 0x100, 0, -4)                            \
  X(ldr_x_post, "ldr x0, [x1], #8", RD, 8, 0x100, 0, 0)                                  \
  X(ldr_w_post_neg, "ldr w0, [x1], #-12", RD, 4, 0x100, 0, 0)                            \
  X(str_x_pre_neg, "str x3, [x1, #-8]!", WR, 8, 0x100, 0, -8)                            \
  X(str_w_pre, "str w3, [x1, #4]!", WR, 4, 0x100, 0, 4)                                  \
  X(str_x_post, "str x3, [x1], #16", WR, 8, 0x100, 0, 0)                                 \
  X(str_w_post_neg, "str w3, [x1], #-4", WR, 4, 0x100, 0, 0)                             \
  /* register offset: LSL, UXTW, SXTW, SXTX, with and without the shift */               \
  X(ldr_x_reg, "ldr x0, [x1, x2]", RD, 8, 0x100, 24, 24)                                 \
  X(ldr_x_reg_lsl, "ldr x0, [x1, x2, lsl #3]", RD, 8, 0x100, 5, 40)                      \
  X(ldr_x_uxtw, "ldr x0, [x1, w2, uxtw]", RD, 8, 0x100, 0xDEADBEEF00000010ull, 16)       \
  X(ldr_x_uxtw_s, "ldr x0, [x1, w2, uxtw #3]", RD, 8, 0x100, 0xFFFFFFFF00000003ull, 24)  \
  X(ldr_w_sxtw, "ldr w0, [x1, w2, sxtw]", RD, 4, 0x100, 0x00000000FFFFFFF0ull, -16)      \
  X(ldr_w_sxtw_s, "ldr w0, [x1, w2, sxtw #2]", RD, 4, 0x100, 0x12345678FFFFFFFEull, -8)  \
  X(ldr_x_sxtx, "ldr x0, [x1, x2, sxtx]", RD, 8, 0x100, (uint64_t)-32, -32)              \
  X(ldr_x_sxtx_s, "ldr x0, [x1, x2, sxtx #3]", RD, 8, 0x100, (uint64_t)-3, -24)          \
  X(str_x_reg_lsl, "str x3, [x1, x2, lsl #3]", WR, 8, 0x100, 3, 24)                      \
  X(str_w_sxtw_s, "str w3, [x1, w2, sxtw #2]", WR, 4, 0x100, 0x00000000FFFFFFFCull, -16) \
  X(str_x_uxtw, "str x3, [x1, w2, uxtw]", WR, 8, 0x100, 0xABCD000000000020ull, 32)       \
  X(str_w_sxtx, "str w3, [x1, x2, sxtx]", WR, 4, 0x100, (uint64_t)-5, -5)                \
  /* LDUR/STUR (unscaled, unaligned) */                                                  \
  X(ldur_x, "ldur x0, [x1, #-3]", RD, 8, 0x100, 0, -3)                                   \
  X(ldur_w, "ldur w0, [x1, #1]", RD, 4, 0x100, 0, 1)                                     \
  X(ldurh, "ldurh w0, [x1, #-1]", RD, 2, 0x100, 0, -1)                                   \
  X(ldursb_x, "ldursb x0, [x1, #-7]", RD, 1, 0x100, 0, -7)                               \
  X(ldursw, "ldursw x0, [x1, #3]", RD, 4, 0x100, 0, 3)                                   \
  X(stur_x, "stur x3, [x1, #-5]", WR, 8, 0x100, 0, -5)                                   \
  X(stur_w, "stur w3, [x1, #7]", WR, 4, 0x100, 0, 7)                                     \
  X(sturh, "sturh w3, [x1, #-3]", WR, 2, 0x100, 0, -3)                                   \
  X(sturb, "sturb w3, [x1, #255]", WR, 1, 0x100, 0, 255)                                 \
  /* LDRB/STRB, LDRH/STRH */                                                             \
  X(ldrb, "ldrb w0, [x1, #3]", RD, 1, 0x100, 0, 3)                                       \
  X(ldrb_pre, "ldrb w0, [x1, #1]!", RD, 1, 0x100, 0, 1)                                  \
  X(ldrb_reg, "ldrb w0, [x1, x2]", RD, 1, 0x100, 7, 7)                                   \
  X(ldrh, "ldrh w0, [x1, #2]", RD, 2, 0x100, 0, 2)                                       \
  X(ldrh_post, "ldrh w0, [x1], #2", RD, 2, 0x100, 0, 0)                                  \
  X(ldrh_reg_lsl, "ldrh w0, [x1, x2, lsl #1]", RD, 2, 0x100, 3, 6)                       \
  X(strb, "strb w3, [x1, #5]", WR, 1, 0x100, 0, 5)                                       \
  X(strb_post, "strb w3, [x1], #1", WR, 1, 0x100, 0, 0)                                  \
  X(strb_reg, "strb w3, [x1, x2]", WR, 1, 0x100, 9, 9)                                   \
  X(strh, "strh w3, [x1, #6]", WR, 2, 0x100, 0, 6)                                       \
  X(strh_pre_neg, "strh w3, [x1, #-2]!", WR, 2, 0x100, 0, -2)                            \
  X(strh_reg_lsl, "strh w3, [x1, x2, lsl #1]", WR, 2, 0x100, 4, 8)                       \
  /* LDRSB/LDRSH to W and X, LDRSW */                                                    \
  X(ldrsb_w, "ldrsb w0, [x1, #5]", RD, 1, 0x100, 0, 5)                                   \
  X(ldrsb_x, "ldrsb x0, [x1, #5]", RD, 1, 0x100, 0, 5)                                   \
  X(ldrsb_x_pre, "ldrsb x0, [x1, #-1]!", RD, 1, 0x100, 0, -1)                            \
  X(ldrsh_w, "ldrsh w0, [x1, #6]", RD, 2, 0x100, 0, 6)                                   \
  X(ldrsh_x, "ldrsh x0, [x1, #6]", RD, 2, 0x100, 0, 6)                                   \
  X(ldrsh_w_sxtw, "ldrsh w0, [x1, w2, sxtw #1]", RD, 2, 0x100, 0xFFFFFFFFull, -2)        \
  X(ldrsw, "ldrsw x0, [x1, #4]", RD, 4, 0x100, 0, 4)                                     \
  X(ldrsw_post, "ldrsw x0, [x1], #4", RD, 4, 0x100, 0, 0)                                \
  X(ldrsw_reg_lsl, "ldrsw x0, [x1, x2, lsl #2]", RD, 4, 0x100, 2, 8)                     \
  /* LDP/STP W and X: offset, pre-index, post-index; LDPSW */                            \
  X(ldp_x, "ldp x0, x3, [x1, #16]", RD, 16, 0x100, 0, 16)                                \
  X(ldp_w, "ldp w0, w3, [x1, #-8]", RD, 8, 0x100, 0, -8)                                 \
  X(ldp_x_pre, "ldp x0, x3, [x1, #-16]!", RD, 16, 0x100, 0, -16)                         \
  X(ldp_w_pre, "ldp w0, w3, [x1, #8]!", RD, 8, 0x100, 0, 8)                              \
  X(ldp_x_post, "ldp x0, x3, [x1], #32", RD, 16, 0x100, 0, 0)                            \
  X(ldp_w_post, "ldp w0, w3, [x1], #-8", RD, 8, 0x100, 0, 0)                             \
  X(ldpsw, "ldpsw x0, x3, [x1, #8]", RD, 8, 0x100, 0, 8)                                 \
  X(stp_x, "stp x3, x4, [x1, #-16]", WR, 16, 0x100, 0, -16)                              \
  X(stp_w, "stp w3, w4, [x1]", WR, 8, 0x100, 0, 0)                                       \
  X(stp_x_pre, "stp x3, x4, [x1, #16]!", WR, 16, 0x100, 0, 16)                           \
  X(stp_w_pre, "stp w3, w4, [x1, #8]!", WR, 8, 0x100, 0, 8)                              \
  X(stp_x_post, "stp x3, x4, [x1], #-16", WR, 16, 0x100, 0, 0)                           \
  X(stp_w_post, "stp w3, w4, [x1], #24", WR, 8, 0x100, 0, 0)                             \
  X(stp_xzr, "stp xzr, x4, [x1, #24]", WR, 16, 0x100, 0, 24)                             \
  /* SIMD&FP LDR/STR B, H, S, D, Q; LDP/STP S, D, Q */                                   \
  X(ldr_b, "ldr b0, [x1, #1]", RD, 1, 0x100, 0, 1)                                       \
  X(ldr_h, "ldr h0, [x1, #2]", RD, 2, 0x100, 0, 2)                                       \
  X(ldr_s, "ldr s0, [x1, #4]", RD, 4, 0x100, 0, 4)                                       \
  X(ldr_d, "ldr d0, [x1, #8]", RD, 8, 0x100, 0, 8)                                       \
  X(ldr_q, "ldr q0, [x1, #16]", RD, 16, 0x100, 0, 16)                                    \
  X(ldr_q_pre, "ldr q0, [x1, #16]!", RD, 16, 0x100, 0, 16)                               \
  X(ldr_d_post_neg, "ldr d0, [x1], #-8", RD, 8, 0x100, 0, 0)                             \
  X(ldr_s_reg_lsl, "ldr s0, [x1, x2, lsl #2]", RD, 4, 0x100, 3, 12)                      \
  X(ldr_q_reg_lsl, "ldr q0, [x1, x2, lsl #4]", RD, 16, 0x100, 2, 32)                     \
  X(ldur_q, "ldur q0, [x1, #-1]", RD, 16, 0x100, 0, -1)                                  \
  X(ldp_q, "ldp q0, q1, [x1, #32]", RD, 32, 0x100, 0, 32)                                \
  X(ldp_d_pre, "ldp d0, d1, [x1, #-16]!", RD, 16, 0x100, 0, -16)                         \
  X(ldp_s_post, "ldp s0, s1, [x1], #8", RD, 8, 0x100, 0, 0)                              \
  X(str_b, "str b1, [x1, #3]", WR, 1, 0x100, 0, 3)                                       \
  X(str_h, "str h1, [x1, #2]", WR, 2, 0x100, 0, 2)                                       \
  X(str_s, "str s1, [x1, #4]", WR, 4, 0x100, 0, 4)                                       \
  X(str_d, "str d1, [x1, #8]", WR, 8, 0x100, 0, 8)                                       \
  X(str_q, "str q1, [x1, #16]", WR, 16, 0x100, 0, 16)                                    \
  X(str_q_pre_neg, "str q1, [x1, #-32]!", WR, 16, 0x100, 0, -32)                         \
  X(str_d_post, "str d1, [x1], #8", WR, 8, 0x100, 0, 0)                                  \
  X(str_s_reg_lsl, "str s1, [x1, x2, lsl #2]", WR, 4, 0x100, 5, 20)                      \
  X(stur_q, "stur q1, [x1, #-7]", WR, 16, 0x100, 0, -7)                                  \
  X(stp_q, "stp q0, q1, [x1, #32]", WR, 32, 0x100, 0, 32)                                \
  X(stp_d_pre_neg, "stp d0, d1, [x1, #-16]!", WR, 16, 0x100, 0, -16)                     \
  X(stp_s_post, "stp s0, s1, [x1], #8", WR, 8, 0x100, 0, 0)                              \
  /* accesses that start on the open page below and cross into the protected page */     \
  X(ldr_x_cross, "ldr x0, [x1]", RD, 8, -4, 0, 0)                                        \
  X(ldp_x_cross, "ldp x0, x3, [x1]", RD, 16, -8, 0, 0)                                   \
  X(ldr_q_cross, "ldr q0, [x1]", RD, 16, -5, 0, 0)                                       \
  X(str_x_cross, "str x3, [x1]", WR, 8, -4, 0, 0)                                        \
  X(stp_x_cross, "stp x3, x4, [x1]", WR, 16, -8, 0, 0)                                   \
  X(str_q_cross, "str q1, [x1]", WR, 16, -5, 0, 0)                                       \
  /* SP as the base, with writeback (the handler runs on the alternate signal stack):   \
   * SP is pointed at the page, the instruction runs, x1 receives SP after it */         \
  X(ldr_sp_pre, SP_IN "ldr x0, [sp, #16]!" SP_OUT, RD, 8, 0x100, 0, 16)                  \
  X(ldp_sp_post, SP_IN "ldp x0, x3, [sp], #32" SP_OUT, RD, 16, 0x100, 0, 0)              \
  X(str_sp_pre, SP_IN "str x3, [sp, #-16]!" SP_OUT, WR, 8, 0x100, 0, -16)                \
  X(stp_sp_post, SP_IN "stp x3, x4, [sp], #-32" SP_OUT, WR, 16, 0x100, 0, 0)
/* Issue 12: the ordered, LSE and RCpc forms and v16..v31 (the vector registers above v3
 * are copied into v0..v3 natively after the stepped instruction).  CAS comparands: x4
 * (and x5 for CASP) hold the memory at ea when x2 is CMP_MEM (init_cpu), so both the
 * equal and (x0 as comparand) the unequal outcome run. */
#define CMP_MEM 0xC0FFEEull
#define CASES_V8(X)                                                                      \
  X(ldar_x, "ldar x0, [x1]", RD, 8, 0x100, 0, 0)                                         \
  X(ldar_w, "ldar w0, [x1]", RD, 4, 0x100, 0, 0)                                         \
  X(ldarb, "ldarb w0, [x1]", RD, 1, 0x100, 0, 0)                                         \
  X(ldarh, "ldarh w0, [x1]", RD, 2, 0x100, 0, 0)                                         \
  X(stlr_x, "stlr x3, [x1]", WR, 8, 0x100, 0, 0)                                         \
  X(stlr_w, "stlr w3, [x1]", WR, 4, 0x100, 0, 0)                                         \
  X(stlrb, "stlrb w3, [x1]", WR, 1, 0x100, 0, 0)                                         \
  X(stlrh, "stlrh w3, [x1]", WR, 2, 0x100, 0, 0)                                         \
  X(ldr_q20, "ldr q20, [x1, #16]\n\tmov v0.16b, v20.16b", RD, 16, 0x100, 0, 16)           \
  X(ldr_d17, "ldr d17, [x1, #8]\n\tmov v0.16b, v17.16b", RD, 8, 0x100, 0, 8)              \
  X(str_q21, "mov v21.16b, v1.16b\n\tstr q21, [x1, #16]", WR, 16, 0x100, 0, 16)           \
  X(ldp_q30, "ldp q30, q31, [x1, #32]\n\tmov v2.16b, v30.16b\n\tmov v3.16b, v31.16b", RD,  \
    32, 0x100, 0, 32)                                                                    \
  X(stp_s16, "mov v16.16b, v1.16b\n\tmov v31.16b, v2.16b\n\tstp s16, s31, [x1, #-8]", WR,  \
    8, 0x100, 0, -8)
#define ARCH84 ".arch armv8.4-a\n\t"
#define CASES_LSE(X)                                                                     \
  X(ldadd_x, ARCH84 "ldadd x3, x0, [x1]", WR, 8, 0x100, 0, 0)                            \
  X(ldaddal_w, ARCH84 "ldaddal w3, w0, [x1]", WR, 4, 0x100, 0, 0)                        \
  X(ldclrb, ARCH84 "ldclrb w3, w0, [x1]", WR, 1, 0x100, 0, 0)                            \
  X(ldeorh, ARCH84 "ldeorh w3, w0, [x1]", WR, 2, 0x100, 0, 0)                            \
  X(ldsetl_x, ARCH84 "ldsetl x3, x0, [x1]", WR, 8, 0x100, 0, 0)                          \
  X(ldsmax_x, ARCH84 "ldsmax x3, x0, [x1]", WR, 8, 0x100, 0, 0)                          \
  X(ldsminah, ARCH84 "ldsminah w3, w0, [x1]", WR, 2, 0x100, 0, 0)                        \
  X(ldumaxa_w, ARCH84 "ldumaxa w3, w0, [x1]", WR, 4, 0x100, 0, 0)                        \
  X(lduminb, ARCH84 "lduminb w4, w0, [x1]", WR, 1, 0x100, 0, 0)                          \
  X(swp_x, ARCH84 "swp x3, x0, [x1]", WR, 8, 0x100, 0, 0)                                \
  X(swpalb, ARCH84 "swpalb w3, w0, [x1]", WR, 1, 0x100, 0, 0)                            \
  X(stadd_x, ARCH84 "stadd x3, [x1]", WR, 8, 0x100, 0, 0)                                \
  X(stsmaxl_w, ARCH84 "stsmaxl w4, [x1]", WR, 4, 0x100, 0, 0)                            \
  X(cas_x_ne, ARCH84 "cas x0, x3, [x1]", WR, 8, 0x100, 0, 0)                             \
  X(cas_x_eq, ARCH84 "cas x4, x3, [x1]", WR, 8, 0x100, CMP_MEM, 0)                       \
  X(casal_w_eq, ARCH84 "casal w4, w3, [x1]", WR, 4, 0x100, CMP_MEM, 0)                   \
  X(casab_eq, ARCH84 "casab w4, w3, [x1]", WR, 1, 0x100, CMP_MEM, 0)                     \
  X(caslh_ne, ARCH84 "caslh w0, w3, [x1]", WR, 2, 0x100, 0, 0)                           \
  X(casp_x_eq, ARCH84 "casp x4, x5, x6, x7, [x1]", WR, 16, 0x100, CMP_MEM, 0)            \
  X(caspal_x_ne, ARCH84 "caspal x4, x5, x6, x7, [x1]", WR, 16, 0x100, 0, 0)              \
  X(casp_w_eq, ARCH84 "casp w4, w5, w6, w7, [x1]", WR, 8, 0x100, CMP_MEM, 0)
#define CASES_RCPC(X)                                                                    \
  X(ldapr_x, ARCH84 "ldapr x0, [x1]", RD, 8, 0x100, 0, 0)                                \
  X(ldaprb, ARCH84 "ldaprb w0, [x1]", RD, 1, 0x100, 0, 0)                                \
  X(ldapur_w, ARCH84 "ldapur w0, [x1, #-4]", RD, 4, 0x100, 0, -4)                        \
  X(ldapursh_x, ARCH84 "ldapursh x0, [x1, #6]", RD, 2, 0x100, 0, 6)                      \
  X(stlur_x, ARCH84 "stlur x3, [x1, #8]", WR, 8, 0x100, 0, 8)                            \
  X(stlurb, ARCH84 "stlurb w3, [x1, #-1]", WR, 1, 0x100, 0, -1)
#define SP_IN "mov x17, sp\n\tmov sp, x1\n\t"
#define SP_OUT "\n\tmov x1, sp\n\tmov sp, x17"

#define CASE_FN(id, insn, ...)                                                           \
  __attribute__((noinline, noipa)) static void id(struct cpu *c) {                       \
    __asm__ volatile(LOAD_STATE insn "\n\t" SAVE_STATE                                   \
                     :                                                                   \
                     : "r"(c)                                                            \
                     : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x16", "x17", "v0",  \
                       "v1", "v2", "v3", "v16", "v17", "v20", "v21", "v30", "v31", "memory"); \
  }
CASES(CASE_FN)
CASES_V8(CASE_FN)
CASES_LSE(CASE_FN)
CASES_RCPC(CASE_FN)

struct e2e_case {
  const char *insn;
  void (*fn)(struct cpu *);
  int access, size;
  int64_t off;
  uint64_t x2;
  int64_t ea;
  unsigned long hwcap; /* the CPU features the instruction needs (AT_HWCAP bits) */
};
#define CASE_ENTRY(id, insn, access, size, off, x2, ea) \
  {insn, id, access, size, off, (uint64_t)(x2), ea, 0},
#define CASE_LSE(id, insn, access, size, off, x2, ea) \
  {insn, id, access, size, off, (uint64_t)(x2), ea, HWCAP_ATOMICS},
#define CASE_RCPC(id, insn, access, size, off, x2, ea) \
  {insn, id, access, size, off, (uint64_t)(x2), ea, HWCAP_LRCPC | HWCAP_ILRCPC},
static const struct e2e_case cases[] = {CASES(CASE_ENTRY) CASES_V8(CASE_ENTRY)
                                            CASES_LSE(CASE_LSE) CASES_RCPC(CASE_RCPC)};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* ---- The STEP runs ------------------------------------------------------------------ */

/* The region's pages: 0 open, 1 read-only ({WRITE}), 2 open, 3 no access ({READ,WRITE}),
 * 4 open.  The copy has the same size and the same contents before every run. */
#define PAGES 5
#define RO_PAGE 1
#define NA_PAGE 3

static int slot;
static uint8_t *base, *alias, *copy;

static int record(int p) {
  return ((unsigned char *)(uintptr_t)mpsprot_region_record(slot))[p];
}

static int dirty(int p) {
  uint64_t *b = (uint64_t *)(uintptr_t)mpsprot_region_bitmap(slot, 0);
  return (int)((b[p / 64] >> (p % 64)) & 1);
}

static uint64_t le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static void fill(uint8_t *mem, int k, int top) {
  for (long i = 0; i < PAGES * page; i++) {
    uint8_t b = (uint8_t)((i * 37 + k * 11) & 0x7F);
    mem[i] = top ? (uint8_t)(b | 0x80) : b;
  }
}

static void init_cpu(struct cpu *c, uint8_t *buf, const struct e2e_case *t, int pg) {
  for (int i = 0; i < 8; i++)
    c->x[i] = 0xA5A5000000000000ull | (uint64_t)i << 40 | 0x0123456789ull * (uint64_t)(i + 1);
  for (int r = 0; r < 4; r++)
    for (int i = 0; i < 16; i++)
      c->v[r][i] = (uint8_t)(0xC0 + r * 16 + i);
  c->x[1] = (uint64_t)(uintptr_t)(buf + pg * page + t->off);
  c->x[2] = t->x2;
  c->x[3] = 0xF1E2D3C4B5A69788ull; /* store data: top bits set in every width */
  c->x[4] = 0x0817263544536271ull;
  if (t->x2 == CMP_MEM) { /* CAS comparands: the memory at ea (the copy holds the same) */
    const uint8_t *m = copy + pg * page + t->off + t->ea;
    c->x[2] = 0;
    c->x[4] = le(m, 8);
    c->x[5] = t->size == 8 && strstr(t->insn, "casp") ? le(m + 4, 4) : le(m + 8, 8);
    if (t->size == 8 && strstr(t->insn, "casp"))
      c->x[4] &= 0xFFFFFFFFu;
  }
}

static int runs, run_failures;

static void run_case(int k, int pg, int top) {
  const struct e2e_case *t = &cases[k];
  char where[160];
  snprintf(where, sizeof where, "%s on the %s page, %s bytes", t->insn,
           pg == RO_PAGE ? "read-only" : "no-access", top ? "negative" : "positive");
  int failed_before = check_failed;
  fill(copy, k, top);
  fill(alias, k, top);

  struct cpu want, got;
  init_cpu(&want, copy, t, pg);
  init_cpu(&got, base, t, pg);
  uint64_t x1_before = got.x[1];
  t->fn(&want);

  int64_t stepped = mpsprot_counter(MPSPROT_COUNT_STEPPED);
  int64_t unprot = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  int64_t kind = mpsprot_counter(t->access == RD ? MPSPROT_COUNT_FAULTS_READ
                                                 : MPSPROT_COUNT_FAULTS_WRITE);
  t->fn(&got);
  CHECK(mpsprot_counter(MPSPROT_COUNT_STEPPED) - stepped == 1, "%s: stepped %ld times", where,
        (long)(mpsprot_counter(MPSPROT_COUNT_STEPPED) - stepped));
  CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) == unprot, "%s: unprotected", where);
  CHECK(mpsprot_counter(t->access == RD ? MPSPROT_COUNT_FAULTS_READ : MPSPROT_COUNT_FAULTS_WRITE)
            - kind == 1,
        "%s: one fault counted as a %s", where, t->access == RD ? "read" : "write");

  /* Registers: the base relative to its buffer, everything else exactly. */
  CHECK(want.x[1] - (uint64_t)(uintptr_t)copy == got.x[1] - (uint64_t)(uintptr_t)base,
        "%s: x1 %+ld from the buffer, want %+ld", where,
        (long)(got.x[1] - (uint64_t)(uintptr_t)base),
        (long)(want.x[1] - (uint64_t)(uintptr_t)copy));
  for (int i = 0; i < 8; i++)
    if (i != 1)
      CHECK(want.x[i] == got.x[i], "%s: x%d %#lx, want %#lx", where, i,
            (unsigned long)got.x[i], (unsigned long)want.x[i]);
  for (int r = 0; r < 4; r++)
    CHECK(memcmp(want.v[r], got.v[r], 16) == 0, "%s: v%d %016lx%016lx, want %016lx%016lx",
          where, r, (unsigned long)le(got.v[r] + 8, 8), (unsigned long)le(got.v[r], 8),
          (unsigned long)le(want.v[r] + 8, 8), (unsigned long)le(want.v[r], 8));

  /* Memory, through the alias. */
  long first_diff = -1;
  for (long i = 0; i < PAGES * page && first_diff < 0; i++)
    if (alias[i] != copy[i])
      first_diff = i;
  CHECK(first_diff < 0, "%s: memory differs at page %ld + %ld: %02x, want %02x", where,
        first_diff / page, first_diff % page, alias[first_diff < 0 ? 0 : first_diff],
        copy[first_diff < 0 ? 0 : first_diff]);

  /* Still protected, not opened. */
  CHECK(record(RO_PAGE) == WR && record(NA_PAGE) == MPSPROT_ACCESS_ALL,
        "%s: records %d %d", where, record(RO_PAGE), record(NA_PAGE));
  CHECK(!dirty(RO_PAGE) && !dirty(NA_PAGE), "%s: a page was opened", where);

  /* The log: one entry for the instruction. */
  struct mpsprot_log_entry e[4];
  int n = mpsprot_log_drain(slot, e, 4);
  uint64_t ea = x1_before + (uint64_t)t->ea;
  int low = t->size < 8 ? t->size : 8;
  size_t at = (size_t)(ea - (uint64_t)(uintptr_t)base);
  uint8_t old[8];
  memset(old, 0, sizeof old);
  fill(copy, k, top); /* the memory before, again */
  memcpy(old, copy + at, (size_t)low);
  uint64_t before = le(old, low), now = le(alias + at, low);
  /* A store that crosses into the protected page may have written its bytes on the open
   * page before it faulted (the Arm ARM allows a faulting multi-register or unaligned
   * store to update part of memory; qemu-user does so for STP): the step then logs
   * those bytes as they were when it ran. */
  uint64_t before_partial = before;
  if (t->access == WR && t->off < 0) {
    uint8_t part[8];
    memcpy(part, old, sizeof part);
    for (int i = 0; i < low; i++)
      if ((at + (size_t)i) / (size_t)page != (size_t)pg)
        part[i] = alias[at + (size_t)i];
    before_partial = le(part, low);
  }
  CHECK(n == 1, "%s: %d log entries", where, n);
  if (n == 1) {
    CHECK(e[0].address == ea && e[0].access == t->access && e[0].size == t->size,
          "%s: log entry address %+ld kind %d size %d, want %+ld %d %d", where,
          (long)(e[0].address - x1_before), e[0].access, e[0].size, (long)t->ea, t->access,
          t->size);
    CHECK((e[0].before == before || e[0].before == before_partial) && e[0].after == now,
          "%s: log values %#lx -> %#lx, want %#lx -> %#lx",
          where, (unsigned long)e[0].before, (unsigned long)e[0].after, (unsigned long)before,
          (unsigned long)now);
  }
  runs++;
  if (check_failed != failed_before)
    run_failures++;
}

/* SVE: an AdvSIMD load into v0 zeroes bits 128 and up of z0.  z0 is set to all ones,
 * then ldr q0, [x1] runs (on the copy, then stepped on the no-access page), then all of z0
 * is stored to zout (VL bytes).  Needs the assembler's SVE support only here. */
__attribute__((noinline, noipa)) static void sve_ldr_q(const void *p, uint8_t *zout) {
  __asm__ volatile(".arch_extension sve\n\t"
                   "mov x1, %0\n\t"
                   "mov z0.b, #-1\n\t"
                   "ldr q0, [x1]\n\t"
                   "str z0, [%1]"
                   :
                   : "r"(p), "r"(zout)
                   : "x1", "v0", "memory");
}

static long sve_vl(void) {
  long vl;
  __asm__ volatile(".arch_extension sve\n\trdvl %0, #1" : "=r"(vl));
  return vl;
}

static void test_sve_upper_bits(void) {
  if (!(getauxval(AT_HWCAP) & HWCAP_SVE)) {
    printf("test_e2e_aarch64: note: no SVE on this CPU: the Z-register check is skipped\n");
    return;
  }
  long vl = sve_vl();
  CHECK(vl >= 16 && vl <= 256 && vl % 16 == 0, "SVE vector length %ld", vl);
  if (vl < 16 || vl > 256)
    return;
  uint8_t want[256], got[256];
  for (int same = 0; same <= 1; same++) {
    /* same = 1: the memory holds what v0 already holds (all ones), so only the decoded
     * instruction, not a changed value, tells the restore to zero z0's upper bits. */
    fill(copy, 99, 1);
    if (same)
      memset(copy + NA_PAGE * page + 0x40, 0xFF, 16);
    memcpy(alias, copy, (size_t)(PAGES * page));
    memset(want, 0x5A, sizeof want);
    memset(got, 0xA5, sizeof got);
    int64_t stepped = mpsprot_counter(MPSPROT_COUNT_STEPPED);
    sve_ldr_q(copy + NA_PAGE * page + 0x40, want);
    sve_ldr_q(base + NA_PAGE * page + 0x40, got);
    CHECK(mpsprot_counter(MPSPROT_COUNT_STEPPED) - stepped == 1, "SVE case %d stepped", same);
    CHECK(memcmp(want, got, (size_t)vl) == 0, "SVE case %d: z0 after ldr q0 differs", same);
    int upper_zero = 1;
    for (long i = 16; i < vl; i++)
      upper_zero &= got[i] == 0;
    CHECK(upper_zero && memcmp(got, copy + NA_PAGE * page + 0x40, 16) == 0,
          "SVE case %d: z0 = the 16 loaded bytes, then zeroes (VL %ld)", same, vl);
    struct mpsprot_log_entry e[2];
    CHECK(mpsprot_log_drain(slot, e, 2) == 1, "SVE case %d: one log entry", same);
  }
  printf("test_e2e_aarch64: note: SVE vector length %ld bytes: z0's upper bits checked\n", vl);
}

static void test_step(void) {
  int64_t out[4];
  int err = mpsprot_region_create(PAGES * page, out);
  CHECK(err == 0, "create: %s", strerror(err));
  if (err != 0)
    return;
  slot = (int)out[0];
  base = (uint8_t *)(uintptr_t)out[1];
  alias = (uint8_t *)(uintptr_t)out[2];
  copy = mmap(NULL, (size_t)(PAGES * page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
              -1, 0);
  CHECK(copy != MAP_FAILED, "the copy");
  if (copy == MAP_FAILED)
    return;
  int32_t rf;
  CHECK(mpsprot_region_set_policy(slot, MPSPROT_POLICY_STEP, MPSPROT_FALLBACK_FAIL_FAST) == 0,
        "policy");
  CHECK(mpsprot_protect(slot, RO_PAGE * page, page, WR, &rf) == 0, "protect read-only");
  CHECK(mpsprot_protect(slot, NA_PAGE * page, page, MPSPROT_ACCESS_ALL, &rf) == 0,
        "protect no access");

  int loads = 0, stores = 0, skipped = 0;
  unsigned long hwcap = getauxval(AT_HWCAP);
  for (int k = 0; k < NCASES; k++) {
    if ((cases[k].hwcap & hwcap) != cases[k].hwcap) {
      skipped++;
      continue;
    }
    for (int top = 0; top <= 1; top++) {
      if (cases[k].access == WR)
        run_case(k, RO_PAGE, top);
      run_case(k, NA_PAGE, top);
    }
    if (cases[k].access == RD)
      loads++;
    else
      stores++;
  }
  printf("test_e2e_aarch64: note: %d instruction forms (%d loads, %d stores; %d skipped: the "
         "CPU lacks LSE or RCpc), %d stepped runs, %d with a difference\n",
         NCASES - skipped, loads, stores, skipped, runs, run_failures);
  test_sve_upper_bits();
  CHECK(strcmp(os_perms((uintptr_t)(base + RO_PAGE * page)), "r-") == 0,
        "maps: the read-only page stays read-only: %s",
        os_perms((uintptr_t)(base + RO_PAGE * page)));
  CHECK(strcmp(os_perms((uintptr_t)(base + NA_PAGE * page)), "--") == 0,
        "maps: the no-access page stays no-access: %s",
        os_perms((uintptr_t)(base + NA_PAGE * page)));
  CHECK(strcmp(os_perms((uintptr_t)(base + 2 * page)), "rw") == 0, "maps: page 2 stays open");
  CHECK(mpsprot_region_destroy(slot) == 0, "destroy");
  munmap(copy, (size_t)(PAGES * page));
}

/* ---- Does this kernel deliver an ESR record?  Asked before the shim is set up. ------ */

static volatile sig_atomic_t esr_probe_calls, esr_probe_found;
static char *esr_probe_page;

static void esr_probe_handler(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  (void)si;
  ucontext_t *uc = ucv;
  const unsigned char *r = uc->uc_mcontext.__reserved;
  size_t off = 0, len = sizeof uc->uc_mcontext.__reserved;
  esr_probe_calls++;
  while (len - off >= 8) {
    uint32_t magic, size;
    memcpy(&magic, r + off, 4);
    memcpy(&size, r + off + 4, 4);
    if (magic == 0 || size < 8 || size > len - off)
      break;
    if (magic == 0x45535201u) /* ESR_MAGIC */
      esr_probe_found = 1;
    off += size;
  }
  mprotect(esr_probe_page, (size_t)page, PROT_READ | PROT_WRITE);
}

static int kernel_delivers_esr(void) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = esr_probe_handler;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &old);
  esr_probe_page = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  *(volatile char *)esr_probe_page = 1;
  sigaction(SIGSEGV, &old, NULL);
  munmap(esr_probe_page, (size_t)page);
  CHECK(esr_probe_calls == 1, "the ESR probe faulted once: %d", (int)esr_probe_calls);
  return esr_probe_found;
}

/* ---- HANDOFF: the context a second thread sees ------------------------------------- */

extern const char e2e_handoff_load[], e2e_handoff_stp[], e2e_handoff_ldxr[];

/* ldr x0, [x1, #24] (f9400c20) at a known pc; returns x0. */
__attribute__((noinline, noipa)) static uint64_t handoff_load(const void *p) {
  uint64_t v;
  __asm__ volatile("mov x1, %1\n\t"
                   "mov x0, #0\n"
                   ".globl e2e_handoff_load\n"
                   "e2e_handoff_load:\n\t"
                   "ldr x0, [x1, #24]\n\t"
                   "mov %0, x0"
                   : "=r"(v)
                   : "r"(p)
                   : "x0", "x1", "memory");
  return v;
}

/* stp w3, w4, [x1, #-8]! (29bf1023) at a known pc; returns x1 after the writeback. */
__attribute__((noinline, noipa)) static uint64_t handoff_stp(void *p) {
  uint64_t after;
  __asm__ volatile("mov x1, %1\n\t"
                   "movz w3, #0x1111\n\t"
                   "movz w4, #0x2222\n"
                   ".globl e2e_handoff_stp\n"
                   "e2e_handoff_stp:\n\t"
                   "stp w3, w4, [x1, #-8]!\n\t"
                   "mov %0, x1"
                   : "=r"(after)
                   : "r"(p)
                   : "x1", "x3", "x4", "memory");
  return after;
}

/* ldxr x0, [x1] (c85f7c20): a load the stepper refuses, whose kind the decoder knows. */
__attribute__((noinline, noipa)) static uint64_t handoff_ldxr(const void *p) {
  uint64_t v;
  __asm__ volatile("mov x1, %1\n"
                   ".globl e2e_handoff_ldxr\n"
                   "e2e_handoff_ldxr:\n\t"
                   "ldxr x0, [x1]\n\t"
                   "clrex\n\t"
                   "mov %0, x0"
                   : "=r"(v)
                   : "r"(p)
                   : "x0", "x1", "memory");
  return v;
}

struct resolver {
  pthread_t thread;
  int hslot;
  int action; /* 0: step the instruction; else open the page (offset action - 1 pages) */
  int ticket, result;
  struct mpsprot_context seen;
};

static void *resolver_main(void *arg) {
  struct resolver *s = arg;
  s->ticket = mpsprot_handoff_wait(10000);
  if (s->ticket < 0)
    return NULL;
  struct mpsprot_context *ctx =
      (struct mpsprot_context *)(uintptr_t)mpsprot_handoff_context(s->ticket);
  if (ctx == NULL)
    return NULL;
  s->seen = *ctx;
  if (s->action == 0) {
    s->result = mpsprot_context_step((int64_t)(uintptr_t)ctx);
  } else {
    int32_t rf;
    s->result = mpsprot_protect(s->hslot, (int64_t)(s->action - 1) * page, page, 0, &rf);
  }
  mpsprot_handoff_resolve(s->ticket, MPSPROT_RESOLVE_RESUME);
  return NULL;
}

static void start(struct resolver *s, int hslot, int action) {
  memset(s, 0, sizeof *s);
  s->hslot = hslot;
  s->action = action;
  s->ticket = -1;
  pthread_create(&s->thread, NULL, resolver_main, s);
}

static uint32_t word(const struct mpsprot_context *c) {
  return (uint32_t)le(c->insn, 4);
}

static void check_origin(const char *what, const struct mpsprot_context *c, int esr) {
  CHECK(!!(c->flags & MPSPROT_CTX_ESR) == esr, "%s: flags %#x: the kind came from %s", what,
        c->flags, (c->flags & MPSPROT_CTX_ESR) ? "ESR" : "the instruction");
}

static void test_handoff(int esr) {
  int64_t out[4];
  int32_t rf;
  CHECK(mpsprot_region_create(3 * page, out) == 0, "create");
  int hslot = (int)out[0];
  uint8_t *hbase = (uint8_t *)(uintptr_t)out[1], *halias = (uint8_t *)(uintptr_t)out[2];
  CHECK(mpsprot_region_set_policy(hslot, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST) == 0,
        "policy");
  CHECK(mpsprot_protect(hslot, 0, page, MPSPROT_ACCESS_ALL, &rf) == 0, "page 0 no access");
  CHECK(mpsprot_protect(hslot, page, page, WR, &rf) == 0, "page 1 read-only");
  CHECK(mpsprot_protect(hslot, 2 * page, page, MPSPROT_ACCESS_ALL, &rf) == 0, "page 2 no access");
  *(uint64_t *)(halias + 64 + 24) = 0x1122334455667788ull;
  *(uint64_t *)(halias + 2 * page + 40) = 0x0BADF00D0BADF00Dull;
  struct resolver s;

  /* A load from a no-access page, stepped by the collector: the page stays protected. */
  start(&s, hslot, 0);
  mpsprot_native_mutator_begin();
  uint64_t v = handoff_load(hbase + 64);
  mpsprot_native_mutator_end();
  pthread_join(s.thread, NULL);
  const struct mpsprot_context *c = &s.seen;
  CHECK(s.ticket >= 0, "load: the resolver got a ticket");
  CHECK(c->address == (uint64_t)(uintptr_t)(hbase + 64 + 24), "load: exact address %#lx, want %p",
        (unsigned long)c->address, (void *)(hbase + 64 + 24));
  CHECK(c->access == RD, "load: access %d", c->access);
  check_origin("load", c, esr);
  CHECK(c->arch == MPSPROT_ARCH_AARCH64 && (c->flags & MPSPROT_CTX_NATIVE), "load: arch %d flags %#x",
        c->arch, c->flags);
  CHECK(c->pc == (uint64_t)(uintptr_t)e2e_handoff_load, "load: pc");
  CHECK(c->insn_len == 4 && word(c) == 0xf9400c20u, "load: insn %08x", word(c));
  CHECK(c->regs[1] == (uint64_t)(uintptr_t)(hbase + 64) && c->regs[0] == 0, "load: x1, x0");
  CHECK(c->regs[31] == c->sp && c->sp % 16 == 0 && c->slot == hslot, "load: sp, slot");
  CHECK(s.result == 0, "load: mpsprot_context_step %d", s.result);
  CHECK(v == 0x1122334455667788ull, "load: the stepped value reached x0: %#lx", (unsigned long)v);
  CHECK(((unsigned char *)(uintptr_t)mpsprot_region_record(hslot))[0] == MPSPROT_ACCESS_ALL,
        "load: page 0 stays no access");

  /* A pair store with writeback on a read-only page, opened by the collector: the CPU
   * retries it. */
  start(&s, hslot, 2);
  mpsprot_native_mutator_begin();
  uint64_t after = handoff_stp(hbase + page + 16);
  mpsprot_native_mutator_end();
  pthread_join(s.thread, NULL);
  CHECK(c->address == (uint64_t)(uintptr_t)(hbase + page + 8), "stp: exact address %#lx, want %p",
        (unsigned long)c->address, (void *)(hbase + page + 8));
  CHECK(c->access == WR, "stp: access %d", c->access);
  check_origin("stp", c, esr);
  CHECK(c->pc == (uint64_t)(uintptr_t)e2e_handoff_stp && word(c) == 0x29bf1023u, "stp: pc, insn %08x",
        word(c));
  CHECK(c->regs[3] == 0x1111 && c->regs[4] == 0x2222, "stp: w3, w4");
  CHECK(s.result == 0 && after == (uint64_t)(uintptr_t)(hbase + page + 8)
            && *(uint32_t *)(halias + page + 8) == 0x1111 && *(uint32_t *)(halias + page + 12) == 0x2222,
        "stp: retried after the page opened, with its writeback");

  /* An exclusive load the stepper refuses: the kind still comes from the instruction. */
  start(&s, hslot, 3);
  mpsprot_native_mutator_begin();
  v = handoff_ldxr(hbase + 2 * page + 40);
  mpsprot_native_mutator_end();
  pthread_join(s.thread, NULL);
  CHECK(c->address == (uint64_t)(uintptr_t)(hbase + 2 * page + 40) && c->access == RD,
        "ldxr: address, access %d", c->access);
  check_origin("ldxr", c, esr);
  CHECK(word(c) == 0xc85f7c20u && !mpsprot_context_can_step((int64_t)(uintptr_t)c),
        "ldxr: insn %08x, not steppable", word(c));
  CHECK(v == 0x0BADF00D0BADF00Dull, "ldxr: loaded after the page opened: %#lx", (unsigned long)v);
  CHECK(mpsprot_region_destroy(hslot) == 0, "destroy");
}

int main(void) {
  alarm(60); /* a hang fails the test instead of stalling make check */
  page = (long)mpsprot_page_size();
  int esr = kernel_delivers_esr();
  printf("test_e2e_aarch64: note: page size %ld; SIGSEGV comes %s\n", page,
         esr ? "with an ESR record (the access kind comes from ESR)"
             : "without an ESR record, as under qemu-user (the access kind comes from the "
               "instruction)");
  CHECK(mpsprot_setup() == 0, "setup");
  /* The SP-based cases point SP at a protected page: the handler (SA_ONSTACK) must run
   * on an alternate stack. */
  static uint8_t altstack[1 << 16] __attribute__((aligned(16)));
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack: %s", strerror(errno));
  test_step();
  test_handoff(esr);
  return check_report("test_e2e_aarch64");
}
#endif
