/* prmc_darwin_arm64.c -- the CPU seam (prmc.h) for arm64 macOS (Apple silicon)
 *
 * NOT VERIFIED HERE: written from the layout in Apple's <mach/arm/_structs.h> and the
 * Arm Architecture Reference Manual, never compiled on the project's machines; the
 * macOS workflow (macos-14, arm64) builds and tests it.
 *
 * Assumes the arm64 ABI (not arm64e: with pointer authentication the SDK makes the
 * thread state's pc, lr, sp and fp opaque, and this file refuses to build) and the
 * Darwin machine context that uc_mcontext points to:
 *   __es  struct __darwin_arm_exception_state64: __far (the fault address), __esr (the
 *         exception syndrome, ESR_EL1), __exception
 *   __ss  struct __darwin_arm_thread_state64: __x[0..28], __fp (x29), __lr (x30), __sp,
 *         __pc, __cpsr
 *   __ns  struct __darwin_arm_neon_state64: __v[0..31] (128 bits each), __fpsr, __fpcr
 *
 * The access kind: the kernel always fills __esr for a data abort.  Its exception class
 * (bits 31..26) is 0x24 or 0x25 for a data abort, and then bit 6 (WnR) tells a write
 * (also set by cache maintenance and by atomics, which are writes) from a read, and
 * MPSPROT_CTX_ESR is set; 0x20 or 0x21, an instruction abort, is PRMC_NOT_DATA (the
 * module never grants execute).  Any other class: the instruction at pc tells
 * (step_aarch64_access_kind), else READ|WRITE.
 *
 * The address: __far, the exact fault address (si_addr is the same for data aborts).
 * The instruction bytes: the 4 aligned bytes at pc, read directly (the CPU has just
 * fetched them; Apple's code pages are readable).  The vector registers: v0..v15 are
 * copied from __ns and written back by prmc_restore with x0..x30, sp and pc.
 */
#include "prmc.h"
#include "protos.h"
#include "step.h"

#include <string.h>

#if !defined(__arm64__) && !defined(__aarch64__)
#error "prmc_darwin_arm64.c is for arm64 macOS"
#endif
#if defined(__DARWIN_OPAQUE_ARM_THREAD_STATE64) && __DARWIN_OPAQUE_ARM_THREAD_STATE64
#error "arm64e (opaque thread state) is not supported: build for arm64"
#endif

#define ESR_EC(esr) (((esr) >> 26) & 0x3fu)
#define ESR_WNR (1u << 6)
#define EC_IABT_LOWER 0x20u
#define EC_IABT_SAME 0x21u
#define EC_DABT_LOWER 0x24u
#define EC_DABT_SAME 0x25u

int prmc_capture(struct mpsprot_context *ctx, const osdep_fault_info *info,
                 osdep_fault_frame *uc) {
  const struct __darwin_mcontext64 *mc = uc->uc_mcontext;
  uint32_t esr = mc->__es.__esr;
  ctx->address = mc->__es.__far != 0 ? (uint64_t)mc->__es.__far
                                     : (uint64_t)(uintptr_t)info->si_addr;
  ctx->pc = mc->__ss.__pc;
  ctx->sp = mc->__ss.__sp;
  ctx->arch = MPSPROT_ARCH_AARCH64;
  ctx->slot = -1;
  ctx->flags = 0;
  ctx->ucontext = (uint64_t)(uintptr_t)uc;
  ctx->tid = osdep_thread_id();

  memset(ctx->insn, 0, sizeof ctx->insn);
  memcpy(ctx->insn, (const void *)(uintptr_t)ctx->pc, 4);
  ctx->insn_len = 4;

  uint32_t ec = ESR_EC(esr);
  if (ec == EC_IABT_LOWER || ec == EC_IABT_SAME)
    return PRMC_NOT_DATA;
  if (ec == EC_DABT_LOWER || ec == EC_DABT_SAME) {
    ctx->access = (esr & ESR_WNR) ? MPSPROT_ACCESS_WRITE : MPSPROT_ACCESS_READ;
    ctx->flags |= MPSPROT_CTX_ESR;
  } else {
    uint32_t word = (uint32_t)ctx->insn[0] | (uint32_t)ctx->insn[1] << 8
                    | (uint32_t)ctx->insn[2] << 16 | (uint32_t)ctx->insn[3] << 24;
    int kind = step_aarch64_access_kind(word);
    ctx->access = kind != 0 ? kind : MPSPROT_ACCESS_READ | MPSPROT_ACCESS_WRITE;
  }

  for (int i = 0; i < 29; i++)
    ctx->regs[i] = mc->__ss.__x[i];
  ctx->regs[29] = mc->__ss.__fp;
  ctx->regs[30] = mc->__ss.__lr;
  ctx->regs[31] = mc->__ss.__sp;
  for (int i = 0; i < 16; i++)
    memcpy(ctx->vregs[i], &mc->__ns.__v[i], 16);
  return PRMC_DATA;
}

void prmc_restore(osdep_fault_frame *uc, const struct mpsprot_context *ctx) {
  struct __darwin_mcontext64 *mc = uc->uc_mcontext;
  for (int i = 0; i < 29; i++)
    mc->__ss.__x[i] = ctx->regs[i];
  mc->__ss.__fp = ctx->regs[29];
  mc->__ss.__lr = ctx->regs[30];
  mc->__ss.__sp = ctx->regs[31];
  mc->__ss.__pc = ctx->pc;
  for (int i = 0; i < 16; i++)
    memcpy(&mc->__ns.__v[i], ctx->vregs[i], 16);
}
