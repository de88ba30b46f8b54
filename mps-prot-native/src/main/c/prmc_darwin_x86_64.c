/* prmc_darwin_x86_64.c -- the CPU seam (prmc.h) for x86-64 macOS
 *
 * NOT VERIFIED HERE: written from the layout in Apple's <mach/i386/_structs.h>, never
 * compiled on the project's machines; the macOS workflow (macos-13, x86-64) builds and
 * tests it.
 *
 * Assumes the Darwin machine context that uc_mcontext points to (the AVX variants
 * extend it at the end, so these members are where they always are):
 *   __es  struct __darwin_x86_exception_state64: __trapno, __cpu, __err (the page-fault
 *         error code), __faultvaddr (the fault address)
 *   __ss  struct __darwin_x86_thread_state64: __rax .. __r15, __rip, __rflags, ...
 *   __fs  struct __darwin_x86_float_state64: __fpu_xmm0 .. __fpu_xmm15 (16 bytes each)
 * What the x86-64 files share (the register order, the page-fault error code, the
 * instruction copy) is prmc_x86_64.h.
 *
 * The access kind: for a page fault (__trapno 14) bit 1 of __err is set for a write and
 * bit 4 for an instruction fetch (PRMC_NOT_DATA), as on Linux (prmc_x86_64_pf_access);
 * for any other trap the kind cannot be told and the access is READ|WRITE.
 *
 * The instruction bytes: from pc to the end of its page directly (prmc_x86_64.h); the
 * rest, when needed, with vm_read_overwrite on our own task, which answers an unreadable
 * page with an error instead of a fault (a Mach trap, used this way by crash reporters
 * inside signal handlers).  insn_len is the number of valid bytes.
 */
#include "prmc.h"
#include "prmc_x86_64.h"

#include <mach/mach.h>
#include <string.h>

#if !defined(__x86_64__)
#error "prmc_darwin_x86_64.c is for x86-64 macOS"
#endif

static size_t read_rest(uint8_t *dst, uintptr_t src, size_t n) {
  vm_size_t got = 0;
  if (vm_read_overwrite(mach_task_self(), (vm_address_t)src, n, (vm_address_t)dst, &got)
      != KERN_SUCCESS)
    got = 0;
  return (size_t)got;
}

/* The 16 XMM registers of the float state, in order. */
static struct __darwin_xmm_reg *xmm(struct __darwin_x86_float_state64 *fs, int i) {
  struct __darwin_xmm_reg *r[16] = {
      &fs->__fpu_xmm0,  &fs->__fpu_xmm1,  &fs->__fpu_xmm2,  &fs->__fpu_xmm3,
      &fs->__fpu_xmm4,  &fs->__fpu_xmm5,  &fs->__fpu_xmm6,  &fs->__fpu_xmm7,
      &fs->__fpu_xmm8,  &fs->__fpu_xmm9,  &fs->__fpu_xmm10, &fs->__fpu_xmm11,
      &fs->__fpu_xmm12, &fs->__fpu_xmm13, &fs->__fpu_xmm14, &fs->__fpu_xmm15};
  return r[i];
}

int prmc_capture(struct mpsprot_context *ctx, const osdep_fault_info *info,
                 osdep_fault_frame *uc) {
  struct __darwin_mcontext64 *mc = uc->uc_mcontext;
  const struct __darwin_x86_thread_state64 *s = &mc->__ss;
  ctx->address = mc->__es.__faultvaddr != 0 ? (uint64_t)mc->__es.__faultvaddr
                                            : (uint64_t)(uintptr_t)info->si_addr;
  ctx->pc = s->__rip;
  ctx->sp = s->__rsp;
  ctx->arch = MPSPROT_ARCH_X86_64;
  ctx->slot = -1;
  ctx->flags = 0;
  ctx->ucontext = (uint64_t)(uintptr_t)uc;
  ctx->tid = osdep_thread_id();

  if (prmc_x86_64_pf_access(mc->__es.__trapno, mc->__es.__err, &ctx->access)
      == PRMC_NOT_DATA)
    return PRMC_NOT_DATA;

  memset(ctx->regs, 0, sizeof ctx->regs);
#define GET(i, lx, dw, win) ctx->regs[i] = s->dw;
  PRMC_X86_64_REGS(GET)
#undef GET
  for (int i = 0; i < 16; i++)
    memcpy(ctx->vregs[i], xmm(&mc->__fs, i)->__xmm_reg, 16);

  prmc_x86_64_copy_insn(ctx, read_rest);
  return PRMC_DATA;
}

void prmc_restore(osdep_fault_frame *uc, const struct mpsprot_context *ctx) {
  struct __darwin_mcontext64 *mc = uc->uc_mcontext;
  struct __darwin_x86_thread_state64 *s = &mc->__ss;
#define SET(i, lx, dw, win) s->dw = ctx->regs[i];
  PRMC_X86_64_REGS(SET)
#undef SET
  s->__rip = ctx->pc;
  for (int i = 0; i < 16; i++)
    memcpy(xmm(&mc->__fs, i)->__xmm_reg, ctx->vregs[i], 16);
}
