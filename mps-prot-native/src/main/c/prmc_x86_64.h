/* prmc_x86_64.h -- what the x86-64 context files share (MPS: prmci6.c): the register
 * order of struct mpsprot_context, the page-fault error code, the instruction copy
 *
 * Included by prmc_x86_64.c (Linux), prmc_windows_x86_64.c and prmc_darwin_x86_64.c;
 * each keeps what is its OS's own (where the fault frame keeps each register, how the
 * access kind is reported, how memory is read without faulting).  Everything here is
 * async-signal-safe: no allocation, no locks; memcpy, protos_page_size and the read
 * function the caller passes.
 */
#ifndef MPSPROT_PRMC_X86_64_H
#define MPSPROT_PRMC_X86_64_H

#include "prmc.h"
#include "protos.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* regs[] of struct mpsprot_context on x86-64 (mpsprot.h): the 16 general registers in
 * their ModRM/SIB encoding order, then rflags; regs[17..31] are 0.  REG(i, lx, dw, win)
 * names regs[i] in each OS's fault frame: lx indexes glibc's gregs (REG_*), dw is the
 * member of Darwin's x86 thread state (__ss), win the member of Windows' CONTEXT.  A
 * context file passes a REG macro that uses its own column and ignores the others. */
#define PRMC_X86_64_REGS(REG)                                                            \
  REG(0, REG_RAX, __rax, Rax) REG(1, REG_RCX, __rcx, Rcx) REG(2, REG_RDX, __rdx, Rdx)     \
  REG(3, REG_RBX, __rbx, Rbx) REG(4, REG_RSP, __rsp, Rsp) REG(5, REG_RBP, __rbp, Rbp)     \
  REG(6, REG_RSI, __rsi, Rsi) REG(7, REG_RDI, __rdi, Rdi) REG(8, REG_R8, __r8, R8)        \
  REG(9, REG_R9, __r9, R9) REG(10, REG_R10, __r10, R10) REG(11, REG_R11, __r11, R11)      \
  REG(12, REG_R12, __r12, R12) REG(13, REG_R13, __r13, R13) REG(14, REG_R14, __r14, R14)  \
  REG(15, REG_R15, __r15, R15) REG(16, REG_EFL, __rflags, EFlags)

/* The access kind from the trap number and the page-fault error code, as Linux and
 * macOS pass them on to the handler: for a page fault (#PF, trap 14) bit 1 of the error
 * code is set for a write and bit 4 for an instruction fetch.  Sets *kind and answers
 * PRMC_DATA, or answers PRMC_NOT_DATA for a fetch (*kind untouched).  For any other trap
 * (or none) the kind cannot be told and is READ|WRITE, as MPS assumes on every Linux
 * fault. */
static inline int prmc_x86_64_pf_access(uint64_t trapno, uint64_t err, int32_t *kind) {
  if (trapno != 14) {
    *kind = MPSPROT_ACCESS_READ | MPSPROT_ACCESS_WRITE;
    return PRMC_DATA;
  }
  if (err & (1u << 4))
    return PRMC_NOT_DATA;
  *kind = (err & (1u << 1)) ? MPSPROT_ACCESS_WRITE : MPSPROT_ACCESS_READ;
  return PRMC_DATA;
}

/* Copies n bytes at src to dst without ever faulting: answers how many it copied
 * (0..n), fewer when a page from src on is not readable. */
typedef size_t prmc_x86_64_read_fn(uint8_t *dst, uintptr_t src, size_t n);

/* Fills ctx->insn with the bytes at ctx->pc, at most 16 (the longest x86-64
 * instruction), and sets ctx->insn_len to how many are valid, 1..16; the rest of insn
 * is 0.  The bytes from pc to the end of pc's page are copied directly: the CPU fetched
 * the faulting instruction from that page, so it is mapped and, x86-64 having no
 * execute-only pages without protection keys, readable.  When that gives fewer than 16,
 * the OS's read_rest copies the rest, or as much of it as is readable. */
static inline void prmc_x86_64_copy_insn(struct mpsprot_context *ctx,
                                         prmc_x86_64_read_fn *read_rest) {
  uintptr_t pc = (uintptr_t)ctx->pc, page = (uintptr_t)protos_page_size();
  size_t direct = page - (pc & (page - 1));
  _Static_assert(sizeof ctx->insn == 16, "16 instruction bytes");
  memset(ctx->insn, 0, sizeof ctx->insn);
  if (direct >= 16) {
    memcpy(ctx->insn, (const void *)pc, 16);
    ctx->insn_len = 16;
    return;
  }
  memcpy(ctx->insn, (const void *)pc, direct);
  ctx->insn_len = (int32_t)(direct + read_rest(ctx->insn + direct, pc + direct, 16 - direct));
}

#endif /* MPSPROT_PRMC_X86_64_H */
