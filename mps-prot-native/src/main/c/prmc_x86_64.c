/* prmc_x86_64.c -- the CPU seam (prmc.h) for x86-64 Linux
 *
 * Assumes glibc's ucontext_t layout (gregs indexed by REG_*, fpregs pointing at the
 * FXSAVE image the kernel saved on the signal frame).  What the x86-64 files share (the
 * register order, the page-fault error code, the instruction copy) is prmc_x86_64.h.
 *
 * The access kind: the kernel passes the page-fault error code in gregs[REG_ERR] when
 * gregs[REG_TRAPNO] is 14 (#PF); prmc_x86_64_pf_access reads it (a write, a read, or an
 * instruction fetch, PRMC_NOT_DATA).  For any other trap (or no trap number) the kind
 * cannot be told and the access is READ|WRITE, as MPS assumes on every Linux fault.
 *
 * The instruction bytes: those on pc's page are copied directly (prmc_x86_64.h).  If
 * that gives fewer than 16 bytes, the rest is read with process_vm_readv on our own
 * process, which returns a short count (or EFAULT) for an unreadable page instead of
 * faulting; if that call is refused (seccomp, ENOSYS) insn_len stays at the bytes up to
 * the end of the page.  So the copy never faults and insn_len is the number of valid
 * bytes, 1..16.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* REG_* of ucontext_t, dladdr */
#endif
#include "prmc.h"
#include "prmc_x86_64.h"

#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static size_t read_rest(uint8_t *dst, uintptr_t src, size_t n) {
  struct iovec local = {dst, n};
  struct iovec remote = {(void *)src, n};
  long got = syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L);
  return got > 0 ? (size_t)got : 0;
}

int prmc_capture(struct mpsprot_context *ctx, const siginfo_t *info, ucontext_t *uc) {
  const greg_t *g = uc->uc_mcontext.gregs;
  ctx->address = (uint64_t)(uintptr_t)info->si_addr;
  ctx->pc = (uint64_t)g[REG_RIP];
  ctx->sp = (uint64_t)g[REG_RSP];
  ctx->arch = MPSPROT_ARCH_X86_64;
  ctx->slot = -1;
  ctx->flags = 0;
  ctx->ucontext = (uint64_t)(uintptr_t)uc;
  ctx->tid = osdep_thread_id();

  if (prmc_x86_64_pf_access((uint64_t)g[REG_TRAPNO], (uint64_t)g[REG_ERR], &ctx->access)
      == PRMC_NOT_DATA)
    return PRMC_NOT_DATA;

  memset(ctx->regs, 0, sizeof ctx->regs);
#define GET(i, lx, dw, win) ctx->regs[i] = (uint64_t)g[lx];
  PRMC_X86_64_REGS(GET)
#undef GET
  if (uc->uc_mcontext.fpregs != NULL)
    memcpy(ctx->vregs, uc->uc_mcontext.fpregs->_xmm, sizeof ctx->vregs);
  else
    memset(ctx->vregs, 0, sizeof ctx->vregs);

  prmc_x86_64_copy_insn(ctx, read_rest);
  return PRMC_DATA;
}

void prmc_restore(ucontext_t *uc, const struct mpsprot_context *ctx) {
  greg_t *g = uc->uc_mcontext.gregs;
#define SET(i, lx, dw, win) g[lx] = (greg_t)ctx->regs[i];
  PRMC_X86_64_REGS(SET)
#undef SET
  g[REG_RIP] = (greg_t)ctx->pc;
  if (uc->uc_mcontext.fpregs != NULL)
    memcpy(uc->uc_mcontext.fpregs->_xmm, ctx->vregs, sizeof ctx->vregs);
}
