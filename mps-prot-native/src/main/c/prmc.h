/* prmc.h -- the CPU seam of the fault path (MPS: prmc, the mutator fault context)
 *
 * One file per OS and CPU implements these two functions for the handler (Linux:
 * prmc_x86_64.c, prmc_aarch64.c; Windows: prmc_windows_x86_64.c; macOS:
 * prmc_darwin_x86_64.c, prmc_darwin_arm64.c; the three x86-64 files share
 * prmc_x86_64.h).  They translate between the OS's fault
 * frame (osdep.h: siginfo_t and ucontext_t, or on Windows EXCEPTION_RECORD and CONTEXT)
 * and the fixed-layout struct mpsprot_context that the
 * stepping code (step.h) and the Java layer read.  Both are async-signal-safe: no
 * allocation, no locks, no library calls beyond memcpy and raw system calls.
 */
#ifndef MPSPROT_PRMC_H
#define MPSPROT_PRMC_H

#include "mpsprot.h"
#include "osdep.h"

/* prmc_capture's answers. */
#define PRMC_DATA 0     /* a data access: the context is filled */
#define PRMC_NOT_DATA 1 /* not a data access (an instruction fetch from the page): the
                         * module cannot resolve it, the handler passes it on */

/* Fills every field of *ctx that the CPU defines: address (exact si_addr), access
 * (READ, WRITE, or both when the kind cannot be told), pc, sp, arch, regs, vregs,
 * insn/insn_len, tid.  Sets slot to -1, flags to 0 and ucontext to uc; the caller
 * fills slot and flags. */
int prmc_capture(struct mpsprot_context *ctx, const osdep_fault_info *info,
                 osdep_fault_frame *uc);

/* Writes ctx's regs, vregs and pc back into the thread's ucontext, so that returning
 * from the handler resumes with them (after a step).  The stack pointer is taken from
 * regs[] (x86-64: regs[4]; aarch64: regs[31]), not from ctx->sp, which is a copy for
 * readers; a stepper that changes it updates both. */
void prmc_restore(osdep_fault_frame *uc, const struct mpsprot_context *ctx);

#endif /* MPSPROT_PRMC_H */
