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
 * store this module emulates, ctx->address lies inside the bytes it accesses
 * [ea, ea + size) (a page-crossing access, or the second half of a pair, faults past ea),
 * every byte it touches lies in the live region of ctx->slot, and a known ctx->access
 * agrees with the instruction's kind.  Else 0, and always 0 once ctx carries
 * MPSPROT_CTX_STEPPED (its instruction was emulated already). */
int step_can(const struct mpsprot_context *ctx);

/* Emulates that instruction through the region's alias view: performs the access,
 * writes the destination register with the architecture's exact semantics, applies
 * writeback, advances ctx->pc by the instruction's length, sets MPSPROT_CTX_STEPPED in
 * ctx->flags, and describes the access in *entry (may be NULL).  Returns 0; EALREADY
 * (and changes nothing) when ctx carries MPSPROT_CTX_STEPPED already, since a second
 * step would emulate the next instruction too; ENOSYS (and changes nothing) when
 * step_can would answer 0 for another reason. */
int step_do(struct mpsprot_context *ctx, struct mpsprot_log_entry *entry);

/* aarch64: the access kind of the load/store instruction word insn (little-endian value
 * of the 4 bytes at pc): MPSPROT_ACCESS_READ, MPSPROT_ACCESS_WRITE (also for
 * read-modify-write: atomics, CAS, SWP, store-exclusive, DC ZVA), or 0 if it is not a
 * load/store recognised here (the caller then assumes both).  Used when the kernel
 * delivers no ESR record (qemu-user). */
int step_aarch64_access_kind(uint32_t insn);

#endif /* MPSPROT_STEP_H */
