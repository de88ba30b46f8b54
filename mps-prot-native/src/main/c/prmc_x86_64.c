/* prmc_x86_64.c -- the CPU seam (prmc.h) for x86-64 Linux
 *
 * Assumes glibc's ucontext_t layout (gregs indexed by REG_*, fpregs pointing at the
 * FXSAVE image the kernel saved on the signal frame).
 *
 * The access kind: the kernel passes the page-fault error code in gregs[REG_ERR] when
 * gregs[REG_TRAPNO] is 14 (#PF).  Bit 1 is set for a write, bit 4 for an instruction
 * fetch.  For any other trap (or no trap number) the kind cannot be told and the access
 * is READ|WRITE, as MPS assumes on every Linux fault.
 *
 * The instruction bytes: the bytes from pc to the end of pc's page are copied directly
 * (the CPU fetched the faulting instruction from that page, so it is mapped and, on
 * x86-64 without protection keys, readable).  If that gives fewer than 16 bytes, the rest
 * is read with process_vm_readv on our own process, which returns a short count (or
 * EFAULT) for an unreadable page instead of faulting; if that call is refused (seccomp,
 * ENOSYS) insn_len stays at the bytes up to the end of the page.  So the copy never
 * faults and insn_len is the number of valid bytes, 1..16.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* REG_* of ucontext_t, dladdr */
#endif
#include "prmc.h"
#include "protos.h"

#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define PF_TRAPNO 14
#define PF_WRITE (1u << 1)
#define PF_FETCH (1u << 4)

/* regs[] order (mpsprot.h): the ModRM/SIB encoding order, then rflags. */
static const int greg_of[17] = {
    REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
    REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15, REG_EFL};

static int copy_insn(uint8_t *dst, uintptr_t pc) {
  uintptr_t page = (uintptr_t)protos_page_size();
  size_t direct = page - (pc & (page - 1));
  if (direct >= 16) {
    memcpy(dst, (const void *)pc, 16);
    return 16;
  }
  memcpy(dst, (const void *)pc, direct);
  struct iovec local = {dst + direct, 16 - direct};
  struct iovec remote = {(void *)(pc + direct), 16 - direct};
  long n = syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L);
  return (int)direct + (n > 0 ? (int)n : 0);
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
  ctx->tid = (int32_t)syscall(SYS_gettid);

  uint64_t err = (uint64_t)g[REG_ERR];
  if (g[REG_TRAPNO] == PF_TRAPNO) {
    if (err & PF_FETCH)
      return PRMC_NOT_DATA;
    ctx->access = (err & PF_WRITE) ? MPSPROT_ACCESS_WRITE : MPSPROT_ACCESS_READ;
  } else {
    ctx->access = MPSPROT_ACCESS_READ | MPSPROT_ACCESS_WRITE;
  }

  for (int i = 0; i < 17; i++)
    ctx->regs[i] = (uint64_t)g[greg_of[i]];
  for (int i = 17; i < 32; i++)
    ctx->regs[i] = 0;
  if (uc->uc_mcontext.fpregs != NULL)
    memcpy(ctx->vregs, uc->uc_mcontext.fpregs->_xmm, sizeof ctx->vregs);
  else
    memset(ctx->vregs, 0, sizeof ctx->vregs);

  memset(ctx->insn, 0, sizeof ctx->insn);
  ctx->insn_len = copy_insn(ctx->insn, (uintptr_t)ctx->pc);
  return PRMC_DATA;
}

void prmc_restore(ucontext_t *uc, const struct mpsprot_context *ctx) {
  greg_t *g = uc->uc_mcontext.gregs;
  for (int i = 0; i < 17; i++)
    g[greg_of[i]] = (greg_t)ctx->regs[i];
  g[REG_RIP] = (greg_t)ctx->pc;
  if (uc->uc_mcontext.fpregs != NULL)
    memcpy(uc->uc_mcontext.fpregs->_xmm, ctx->vregs, sizeof ctx->vregs);
}
