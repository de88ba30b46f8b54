/* step_x86_64_fp.c -- the x86-64 scalar SSE/VEX arithmetic with a memory source
 * (STEP_OP_FP: vmulsd xmm, xmm, [mem], cvtss2sd, ucomisd, cvttsd2si, ...), executed on
 * the CPU itself
 *
 * IEEE arithmetic cannot be emulated exactly in a few lines (rounding modes, denormals,
 * FTZ/DAZ, NaN propagation, which exception flags are raised), so the handler runs the
 * same operation with register operands: the first source (VEX vvvv, or the destination
 * for legacy SSE) and the memory operand, already read through the alias view, are put
 * in two XMM registers, MXCSR is set to the mutator's (from the signal frame), the legacy
 * SSE register form of the operation executes, MXCSR is read back and the handler's own
 * restored, all in one asm statement so that no other floating-point instruction runs
 * in between.  The legacy register form computes exactly what the memory form does
 * for the low element and keeps the rest of the first source, which is the VEX result
 * below bit 128 (step_x86_64_fp then zeroes bits 128..255 for VEX).  The sticky
 * exception flags the operation raised are ORed into the mutator's MXCSR, as the
 * instruction itself does.  An unmasked exception would make the real instruction trap
 * (#XM, SIGFPE) instead of completing: step.c refuses STEP_OP_FP unless MXCSR masks
 * every exception (the JVM's and C's normal state), so the operation here never traps.
 *
 * Assumes: the mutator's instruction did not raise #UD, so the CPU has the extension
 * (SSE2 is in every x86-64).  Async-signal-safe: inline instructions, no calls.  On a
 * host that is not x86-64 (the aarch64 build, which decodes x86-64 only in tests) the
 * operation is not available and step.c refuses it.
 */
#include "step_internal.h"

#include <string.h>

#if defined(__x86_64__)

typedef double step_v2df __attribute__((vector_size(16)));

int step_x86_64_fp_available(void) { return 1; }

/* One operation in the mutator's MXCSR: a (first source, result), m (memory operand). */
#define MX_BEGIN "stmxcsr %[sv]\n\tldmxcsr %[mx]\n\t"
#define MX_END "\n\tstmxcsr %[mx]\n\tldmxcsr %[sv]"
#define XX(insn)                                                                       \
  __asm__ volatile(MX_BEGIN insn " %[m], %[a]" MX_END                                 \
                   : [a] "+x"(a), [mx] "+m"(mx), [sv] "+m"(sv)                         \
                   : [m] "x"(m))
#define GX(insn, mod)                                                                  \
  __asm__ volatile(MX_BEGIN insn " %" mod "[g], %[a]" MX_END                          \
                   : [a] "+x"(a), [mx] "+m"(mx), [sv] "+m"(sv)                         \
                   : [g] "r"(gi))
#define XG(insn, mod)                                                                  \
  __asm__ volatile(MX_BEGIN insn " %[m], %" mod "[g]" MX_END                          \
                   : [g] "=r"(go), [mx] "+m"(mx), [sv] "+m"(sv)                        \
                   : [m] "x"(m))
#define CMP(insn)                                                                      \
  __asm__ volatile(MX_BEGIN insn " %[m], %[a]\n\tsetz %[z]\n\tsetp %[p]\n\tsetc %[c]" MX_END \
                   : [z] "=q"(zf), [p] "=q"(pf), [c] "=q"(cf), [mx] "+m"(mx),         \
                     [sv] "+m"(sv)                                                     \
                   : [a] "x"(a), [m] "x"(m)                                            \
                   : "cc")

int step_x86_64_fp(struct mpsprot_context *ctx, const struct step_insn *d, const uint8_t *data) {
  step_v2df a, m;
  uint8_t mb[16] = {0};
  memcpy(&a, step_vreg_c(ctx, d->rt2), 16);
  memcpy(mb, data, (size_t)(d->elem < 16 ? d->elem : 16));
  memcpy(&m, mb, 16);
  uint32_t mx = (uint32_t)ctx->regs[STEP_X86_MXCSR], sv = 0;
  uint64_t gi = step_le_get(data, d->elem), go = 0;
  uint8_t zf = 0, pf = 0, cf = 0;
  int to_xmm = 1, to_flags = 0;
  switch (d->fp) {
  case STEP_FP_ADDSS: XX("addss"); break;
  case STEP_FP_ADDSD: XX("addsd"); break;
  case STEP_FP_MULSS: XX("mulss"); break;
  case STEP_FP_MULSD: XX("mulsd"); break;
  case STEP_FP_SUBSS: XX("subss"); break;
  case STEP_FP_SUBSD: XX("subsd"); break;
  case STEP_FP_DIVSS: XX("divss"); break;
  case STEP_FP_DIVSD: XX("divsd"); break;
  case STEP_FP_MINSS: XX("minss"); break;
  case STEP_FP_MINSD: XX("minsd"); break;
  case STEP_FP_MAXSS: XX("maxss"); break;
  case STEP_FP_MAXSD: XX("maxsd"); break;
  case STEP_FP_SQRTSS: XX("sqrtss"); break;
  case STEP_FP_SQRTSD: XX("sqrtsd"); break;
  case STEP_FP_CVTSS2SD: XX("cvtss2sd"); break;
  case STEP_FP_CVTSD2SS: XX("cvtsd2ss"); break;
  case STEP_FP_CVTSI2SS32: GX("cvtsi2ssl", "k"); break;
  case STEP_FP_CVTSI2SS64: GX("cvtsi2ssq", "q"); break;
  case STEP_FP_CVTSI2SD32: GX("cvtsi2sdl", "k"); break;
  case STEP_FP_CVTSI2SD64: GX("cvtsi2sdq", "q"); break;
  case STEP_FP_UCOMISS: CMP("ucomiss"); to_xmm = 0; to_flags = 1; break;
  case STEP_FP_UCOMISD: CMP("ucomisd"); to_xmm = 0; to_flags = 1; break;
  case STEP_FP_COMISS: CMP("comiss"); to_xmm = 0; to_flags = 1; break;
  case STEP_FP_COMISD: CMP("comisd"); to_xmm = 0; to_flags = 1; break;
  case STEP_FP_CVTTSS2SI32: XG("cvttss2si", "k"); to_xmm = 0; break;
  case STEP_FP_CVTTSS2SI64: XG("cvttss2si", "q"); to_xmm = 0; break;
  case STEP_FP_CVTTSD2SI32: XG("cvttsd2si", "k"); to_xmm = 0; break;
  case STEP_FP_CVTTSD2SI64: XG("cvttsd2si", "q"); to_xmm = 0; break;
  case STEP_FP_CVTSS2SI32: XG("cvtss2si", "k"); to_xmm = 0; break;
  case STEP_FP_CVTSS2SI64: XG("cvtss2si", "q"); to_xmm = 0; break;
  case STEP_FP_CVTSD2SI32: XG("cvtsd2si", "k"); to_xmm = 0; break;
  case STEP_FP_CVTSD2SI64: XG("cvtsd2si", "q"); to_xmm = 0; break;
  default:
    return 0;
  }
  if (to_xmm) {
    memcpy(ctx->vregs[d->rt], &a, 16);
    if (d->vex) { /* VEX: bits 128..255 zeroed, and 256..511 where the context has them */
      memset(ctx->vext[d->rt], 0, 16);
      if (ctx->flags & MPSPROT_CTX_AVX512)
        memset(ctx->zmmh[d->rt], 0, 32);
    }
  } else if (to_flags) {
    /* COMIS/UCOMIS: ZF PF CF from the comparison, OF SF AF cleared. */
    uint64_t f = ctx->regs[16] & ~(uint64_t)0x8D5;
    ctx->regs[16] = f | (zf ? 0x40u : 0) | (pf ? 0x4u : 0) | (cf ? 0x1u : 0);
  } else {
    ctx->regs[d->rt] = d->dwidth == 8 ? go : go & 0xFFFFFFFFu; /* 32-bit: zero-extended */
    if (d->rt == 4)
      ctx->sp = ctx->regs[4];
  }
  ctx->regs[STEP_X86_MXCSR] = mx;
  return 1;
}

#else

int step_x86_64_fp_available(void) { return 0; }

int step_x86_64_fp(struct mpsprot_context *ctx, const struct step_insn *d, const uint8_t *data) {
  (void)ctx;
  (void)d;
  (void)data;
  return 0;
}

#endif
