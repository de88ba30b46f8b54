/* step.h -- instruction stepping (MPS: ProtCanStepInstruction / ProtStepInstruction)
 *
 * The decoders are plain C over a struct mpsprot_context: they never touch a ucontext,
 * so both (x86-64 and aarch64) build and are tested on every host.  The handler's
 * arch file (prmc_<arch>.c) fills the context from the ucontext and writes the registers
 * back after a step.  Everything here is async-signal-safe: no allocation, no locks, no
 * library calls beyond memcpy.
 */
#ifndef MPSPROT_STEP_H
#define MPSPROT_STEP_H

#include "mpsprot.h"

/* 1 if the instruction at ctx->pc (ctx->insn, ctx->insn_len bytes) decodes as a load or
 * store this module emulates, its effective address equals ctx->address, and every byte
 * it touches lies in the live region of ctx->slot.  Else 0. */
int step_can(const struct mpsprot_context *ctx);

/* Emulates that instruction through the region's alias view: performs the access,
 * writes the destination register with the architecture's exact semantics, applies
 * writeback, advances ctx->pc by the instruction's length, sets MPSPROT_CTX_STEPPED in
 * ctx->flags, and describes the access in *entry (may be NULL).  Returns 0, or ENOSYS
 * (and changes nothing) when step_can would answer 0. */
int step_do(struct mpsprot_context *ctx, struct mpsprot_log_entry *entry);

#endif /* MPSPROT_STEP_H */
