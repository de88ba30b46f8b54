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
 *
 * The access kind: for a page fault (__trapno 14) bit 1 of __err is set for a write and
 * bit 4 for an instruction fetch (PRMC_NOT_DATA), as on Linux; for any other trap the
 * kind cannot be told and the access is READ|WRITE.
 *
 * The instruction bytes: from pc to the end of its page directly (the CPU fetched the
 * instruction there, and x86-64 code is readable); the rest, when needed, with
 * vm_read_overwrite on our own task, which answers an unreadable page with an error
 * instead of a fault (a Mach trap, used this way by crash reporters inside signal
 * handlers).  insn_len is the number of valid bytes.
 */
#include "prmc.h"
#include "protos.h"

#include <mach/mach.h>
#include <string.h>

#if !defined(__x86_64__)
#error "prmc_darwin_x86_64.c is for x86-64 macOS"
#endif

#define PF_TRAPNO 14
#define PF_WRITE (1u << 1)
#define PF_FETCH (1u << 4)

static int copy_insn(uint8_t *dst, uintptr_t pc) {
  uintptr_t page = (uintptr_t)protos_page_size();
  size_t direct = page - (pc & (page - 1));
  if (direct >= 16) {
    memcpy(dst, (const void *)pc, 16);
    return 16;
  }
  memcpy(dst, (const void *)pc, direct);
  vm_size_t got = 0;
  if (vm_read_overwrite(mach_task_self(), (vm_address_t)(pc + direct), 16 - direct,
                        (vm_address_t)(dst + direct), &got) != KERN_SUCCESS)
    got = 0;
  return (int)direct + (int)got;
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

  if (mc->__es.__trapno == PF_TRAPNO) {
    if (mc->__es.__err & PF_FETCH)
      return PRMC_NOT_DATA;
    ctx->access = (mc->__es.__err & PF_WRITE) ? MPSPROT_ACCESS_WRITE : MPSPROT_ACCESS_READ;
  } else {
    ctx->access = MPSPROT_ACCESS_READ | MPSPROT_ACCESS_WRITE;
  }

  /* regs[] order (mpsprot.h): the ModRM/SIB encoding order, then rflags. */
  const uint64_t g[17] = {s->__rax, s->__rcx, s->__rdx, s->__rbx, s->__rsp, s->__rbp,
                          s->__rsi, s->__rdi, s->__r8,  s->__r9,  s->__r10, s->__r11,
                          s->__r12, s->__r13, s->__r14, s->__r15, s->__rflags};
  for (int i = 0; i < 17; i++)
    ctx->regs[i] = g[i];
  for (int i = 17; i < 32; i++)
    ctx->regs[i] = 0;
  for (int i = 0; i < 16; i++)
    memcpy(ctx->vregs[i], xmm(&mc->__fs, i)->__xmm_reg, 16);

  memset(ctx->insn, 0, sizeof ctx->insn);
  ctx->insn_len = copy_insn(ctx->insn, (uintptr_t)ctx->pc);
  return PRMC_DATA;
}

void prmc_restore(osdep_fault_frame *uc, const struct mpsprot_context *ctx) {
  struct __darwin_mcontext64 *mc = uc->uc_mcontext;
  struct __darwin_x86_thread_state64 *s = &mc->__ss;
  const uint64_t *r = ctx->regs;
  s->__rax = r[0], s->__rcx = r[1], s->__rdx = r[2], s->__rbx = r[3];
  s->__rsp = r[4], s->__rbp = r[5], s->__rsi = r[6], s->__rdi = r[7];
  s->__r8 = r[8], s->__r9 = r[9], s->__r10 = r[10], s->__r11 = r[11];
  s->__r12 = r[12], s->__r13 = r[13], s->__r14 = r[14], s->__r15 = r[15];
  s->__rflags = r[16];
  s->__rip = ctx->pc;
  for (int i = 0; i < 16; i++)
    memcpy(xmm(&mc->__fs, i)->__xmm_reg, ctx->vregs[i], 16);
}
