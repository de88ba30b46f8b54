/* prmc_windows_x86_64.c -- the CPU seam (prmc.h) for x86-64 Windows
 *
 * Assumes the x64 CONTEXT record of winnt.h as the exception dispatcher fills it for a
 * vectored handler (CONTEXT_FULL, floating point included: checked through
 * ContextFlags before the XMM registers are read or written) and the
 * EXCEPTION_ACCESS_VIOLATION parameters: ExceptionInformation[0] is 0 for a read,
 * 1 for a write, 8 for a DEP instruction fetch; [1] is the exact address.
 *
 * The access kind comes from ExceptionInformation[0]; an instruction fetch is
 * PRMC_NOT_DATA (the module never grants execute); any other value (none is documented)
 * is READ|WRITE.
 *
 * The registers: regs[0..15] = Rax, Rcx, Rdx, Rbx, Rsp, Rbp, Rsi, Rdi, R8..R15 (the
 * ModRM/SIB encoding order of mpsprot.h, whose table, shared by the x86-64 files, is
 * prmc_x86_64.h), regs[16] = EFlags; vregs = Xmm0..Xmm15 (the FltSave area's
 * XmmRegisters, which the CONTEXT union also names Xmm0..Xmm15).  prmc_restore writes
 * all of them back with Rip; returning EXCEPTION_CONTINUE_EXECUTION resumes the thread
 * with them.
 *
 * The instruction bytes: those from pc to the end of pc's page are copied directly
 * (prmc_x86_64.h); if that gives fewer than 16, the rest is read only when VirtualQuery
 * says the next page is committed and readable (not PAGE_NOACCESS, not PAGE_GUARD, not
 * execute-only), and then with ReadProcessMemory on our own process, which reports a
 * page made unreadable meanwhile as a failed copy instead of raising an exception.
 * (ReadProcessMemory alone is not enough: under Wine it reads PAGE_NOACCESS memory of
 * the calling process.)  insn_len is the number of valid bytes.
 */
#include "prmc.h"
#include "prmc_x86_64.h"

#include <string.h>

/* 1 if the page at p is committed and readable as data. */
static int readable(const void *p) {
  MEMORY_BASIC_INFORMATION mbi;
  if (VirtualQuery(p, &mbi, sizeof mbi) != sizeof mbi || mbi.State != MEM_COMMIT)
    return 0;
  if (mbi.Protect & (PAGE_GUARD | PAGE_NOACCESS))
    return 0;
  return (mbi.Protect & (PAGE_READONLY | PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READ
                         | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY)) != 0;
}

static size_t read_rest(uint8_t *dst, uintptr_t src, size_t n) {
  SIZE_T got = 0;
  DWORD saved = GetLastError();
  if (readable((const void *)src)
      && !ReadProcessMemory(GetCurrentProcess(), (const void *)src, dst, n, &got))
    got = 0; /* made unreadable meanwhile (or partly: take none of it) */
  SetLastError(saved);
  return (size_t)got;
}

static int has_fp(const CONTEXT *c) {
  return (c->ContextFlags & CONTEXT_FLOATING_POINT) == CONTEXT_FLOATING_POINT;
}

int prmc_capture(struct mpsprot_context *ctx, const osdep_fault_info *info,
                 osdep_fault_frame *uc) {
  ctx->address = (uint64_t)info->ExceptionInformation[1];
  ctx->pc = uc->Rip;
  ctx->sp = uc->Rsp;
  ctx->arch = MPSPROT_ARCH_X86_64;
  ctx->slot = -1;
  ctx->flags = 0;
  ctx->ucontext = (uint64_t)(uintptr_t)uc;
  ctx->tid = osdep_thread_id();

  switch (info->ExceptionInformation[0]) {
  case EXCEPTION_READ_FAULT:
    ctx->access = MPSPROT_ACCESS_READ;
    break;
  case EXCEPTION_WRITE_FAULT:
    ctx->access = MPSPROT_ACCESS_WRITE;
    break;
  case EXCEPTION_EXECUTE_FAULT:
    return PRMC_NOT_DATA;
  default:
    ctx->access = MPSPROT_ACCESS_READ | MPSPROT_ACCESS_WRITE;
    break;
  }

  memset(ctx->regs, 0, sizeof ctx->regs);
#define GET(i, lx, dw, win) ctx->regs[i] = uc->win;
  PRMC_X86_64_REGS(GET)
#undef GET
  _Static_assert(sizeof ctx->vregs == sizeof uc->FltSave.XmmRegisters, "16 XMM registers");
  if (has_fp(uc))
    memcpy(ctx->vregs, uc->FltSave.XmmRegisters, sizeof ctx->vregs);
  else
    memset(ctx->vregs, 0, sizeof ctx->vregs);

  prmc_x86_64_copy_insn(ctx, read_rest);
  return PRMC_DATA;
}

void prmc_restore(osdep_fault_frame *uc, const struct mpsprot_context *ctx) {
  /* EFlags is a DWORD: it takes the low 32 bits of regs[16] (the upper half of rflags is
   * reserved and 0). */
#define SET(i, lx, dw, win) uc->win = ctx->regs[i];
  PRMC_X86_64_REGS(SET)
#undef SET
  uc->Rip = ctx->pc;
  if (has_fp(uc))
    memcpy(uc->FltSave.XmmRegisters, ctx->vregs, sizeof ctx->vregs);
}
