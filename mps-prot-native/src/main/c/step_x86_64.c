/* step_x86_64.c -- decoder and register semantics of the x86-64 instructions the shim
 * steps (MPS: ProtCanStepInstruction / ProtStepInstruction; MPS itself leaves x86-64
 * stepping unimplemented)
 *
 * What is stepped (encodings from the Intel SDM, vol. 2, 64-bit mode):
 *   88 /r MOV r/m8,r8       89 /r MOV r/m,r        8A /r MOV r8,r/m8     8B /r MOV r,r/m
 *   C6 /0 ib MOV r/m8,imm8  C7 /0 iw/id MOV r/m,imm (REX.W: imm32 sign-extended to 64)
 *   0F B6/B7 MOVZX          0F BE/BF MOVSX          63 /r MOVSXD (REX.W: r64 <- m32
 *     sign-extended; without REX.W a 32-bit move; with 66 and no REX.W refused)
 *   66 0F 6E MOVD xmm,m32 (REX.W: MOVQ xmm,m64)     66 0F 7E MOVD m32,xmm (REX.W: m64)
 *   F3 0F 7E MOVQ xmm,m64                           66 0F D6 MOVQ m64,xmm
 *   the ALU, compare, exchange and LOCK forms (step_x86_64_rmw below), PUSH/POP m64,
 *   the SSE moves (0F 10/11/28/29/6F/7F, sse_kind) and their VEX forms (vex_decode),
 *   the EVEX (AVX-512) moves with and without an opmask (evex_decode),
 *   the scalar SSE/VEX arithmetic with a memory source (fp_kind: ADD..SQRT SS/SD,
 *   CVTSS2SD, CVTSD2SS, CVTSI2SS/SD, (U)COMISS/SD, CVT(T)SS/SD2SI; executed by
 *   step_x86_64_fp.c on the CPU under the mutator's MXCSR)
 * with the prefixes 66 (operand size; mandatory prefix of the SSE forms), F3 (only as the
 * mandatory prefix of F3 0F 7E) and REX (W/R/X/B; it must be the last prefix), and every
 * ModRM/SIB memory form: mod 00/01/10, SIB with and without index (index 100 is "none"
 * unless REX.X), SIB base 101 with mod 00 = disp32 without base, rm 101 with mod 00 =
 * RIP-relative (relative to the next instruction), RSP/R12 as base through SIB.
 *
 * What is refused: register-direct ModRM (mod 11: no memory access), segment overrides
 * (26 2E 36 3E 64 65: the effective address would not be a linear address), 67 (32-bit
 * addressing), F0 LOCK on anything but the read-modify-write forms, F2/F3 on anything but
 * the SSE forms (REP, XACQUIRE/XRELEASE), a legacy
 * prefix or a second REX after REX (the hardware ignores such a REX; we do not guess),
 * VEX outside vex_decode's moves, EVEX outside evex_decode's moves, XOP, MMX forms (no MMX registers in the context), every other opcode, and any
 * encoding longer than 15 bytes or than ctx->insn_len.
 *
 * Semantics: a 32-bit destination is zero-extended to 64 bits, 8- and 16-bit destinations
 * keep the other bits; without REX, byte register numbers 4..7 are AH, CH, DH, BH (bits
 * 8..15 of rax..rbx), with any REX they are SPL, BPL, SIL, DIL; loads into an XMM register
 * zero the rest of its 128 bits; flags are not changed; rip advances by the length.
 * regs[] is in encoding order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15); a write
 * to rsp also updates ctx->sp so that the two copies agree.
 *
 * Robustness: the decoder reads ctx->insn only through next_byte(), which stops at
 * min(ctx->insn_len, 15); it is total over arbitrary bytes (fuzzed in test_step_x86_64.c).
 */
#include "step_internal.h"

#include <string.h>

#define X86_MAX_LEN 15

struct cursor {
  const uint8_t *p;
  int avail;
  int pos;
};

static int next_byte(struct cursor *c) {
  if (c->pos >= c->avail)
    return -1;
  return c->p[c->pos++];
}

/* Reads an n-byte little-endian value, sign-extended; 0 if the bytes run out. */
static int next_signed(struct cursor *c, int n, int64_t *out) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) {
    int b = next_byte(c);
    if (b < 0)
      return 0;
    v |= (uint64_t)b << (8 * i);
  }
  *out = (int64_t)step_sext(v, 8 * n);
  return 1;
}

static int modrm_tail(const struct mpsprot_context *ctx, struct step_insn *d, struct cursor *cp,
                      int rex, int lock, int imm_size, int byte_reg, int need_reg0, int group,
                      int opsize16, int b);

/* The SSE moves between an XMM register and memory (0F 10/11/28/29/6F/7F), by their
 * mandatory prefix (pp: 0 none, 1 66, 2 F3, 3 F2): elem bytes, load or store, and
 * whether the memory must be 16-byte aligned (MOVAPS/MOVAPD/MOVDQA: the CPU raises #GP
 * otherwise, which never reaches us as a page fault: d->align).
 * Legacy SSE loads zero bits elem..127 (MOVSS/MOVSD from memory) and keep bits 128 and
 * up of the YMM register: LOAD_V writes exactly the 16 bytes of the context's XMM. */
static int sse_pp(int opsize16, int rep) {
  if (rep && opsize16)
    return -1;
  return rep == 0xF3 ? 2 : rep == 0xF2 ? 3 : opsize16 ? 1 : 0;
}

static int sse_kind(int op, int pp, struct step_insn *d) {
  switch (op) {
  case 0x10:
  case 0x11:
    d->elem = pp == 2 ? 4 : pp == 3 ? 8 : 16;
    break;
  case 0x28:
  case 0x29:
    if (pp > 1)
      return 0;
    d->elem = 16;
    d->align = 1;
    break;
  case 0x6F:
  case 0x7F:
    if (pp != 1 && pp != 2)
      return 0; /* no prefix: MMX MOVQ */
    d->elem = 16;
    if (pp == 1)
      d->align = 1; /* MOVDQA */
    break;
  default:
    return 0;
  }
  d->op = (op == 0x11 || op == 0x29 || op == 0x7F) ? STEP_OP_STORE_V : STEP_OP_LOAD_V;
  return 1;
}

static int sse_move(int op, int opsize16, int rep, struct step_insn *d) {
  int pp = sse_pp(opsize16, rep);
  return pp >= 0 && sse_kind(op, pp, d);
}

/* The scalar SSE/VEX floating-point operations with a memory source (STEP_OP_FP), by
 * opcode (map 0F), mandatory prefix pp (0 none, 1 66, 2 F3, 3 F2) and W:
 *   51 SQRT, 58 ADD, 59 MUL, 5C SUB, 5D MIN, 5E DIV, 5F MAX  (F3: SS, m32; F2: SD, m64)
 *   5A F3 CVTSS2SD m32, F2 CVTSD2SS m64    2A F3/F2 CVTSI2SS/SD r/m32 (W1: r/m64)
 *   2E UCOMISS m32 (66: UCOMISD m64), 2F COMISS/COMISD: rflags only (VEX: vvvv 1111)
 *   2C CVTTSS2SI/CVTTSD2SI, 2D CVTSS2SI/CVTSD2SI r32 (W1: r64), F3 m32 / F2 m64: the
 *     destination is a general register (VEX: vvvv 1111)
 * The packed forms (no prefix or 66 with 51..5F) are refused.  *gpr_dest and *no_src say
 * whether the destination is a general register and whether vvvv must be 1111. */
static int fp_kind(int op, int pp, int w, struct step_insn *d, int *gpr_dest, int *no_src) {
  static const int arith[16] = {
      [0x1] = STEP_FP_SQRTSS, [0x8] = STEP_FP_ADDSS, [0x9] = STEP_FP_MULSS,
      [0xC] = STEP_FP_SUBSS, [0xD] = STEP_FP_MINSS, [0xE] = STEP_FP_DIVSS, [0xF] = STEP_FP_MAXSS};
  *gpr_dest = 0;
  *no_src = 0;
  if (op == 0x51 || (op >= 0x58 && op <= 0x5F && op != 0x5A && op != 0x5B)) {
    if (pp != 2 && pp != 3)
      return 0;
    d->fp = arith[op & 0xF] + (pp == 3); /* each SD follows its SS */
    d->elem = pp == 3 ? 8 : 4;
  } else if (op == 0x5A) {
    if (pp != 2 && pp != 3)
      return 0;
    d->fp = pp == 2 ? STEP_FP_CVTSS2SD : STEP_FP_CVTSD2SS;
    d->elem = pp == 2 ? 4 : 8;
  } else if (op == 0x2A) {
    if (pp != 2 && pp != 3)
      return 0;
    d->fp = pp == 2 ? (w ? STEP_FP_CVTSI2SS64 : STEP_FP_CVTSI2SS32)
                    : (w ? STEP_FP_CVTSI2SD64 : STEP_FP_CVTSI2SD32);
    d->elem = w ? 8 : 4;
  } else if (op == 0x2E || op == 0x2F) {
    if (pp != 0 && pp != 1)
      return 0;
    d->fp = op == 0x2E ? (pp ? STEP_FP_UCOMISD : STEP_FP_UCOMISS)
                       : (pp ? STEP_FP_COMISD : STEP_FP_COMISS);
    d->elem = pp ? 8 : 4;
    *no_src = 1;
  } else if (op == 0x2C || op == 0x2D) {
    if (pp != 2 && pp != 3)
      return 0;
    static const int cvt[2][2][2] = {
        {{STEP_FP_CVTTSS2SI32, STEP_FP_CVTTSS2SI64}, {STEP_FP_CVTTSD2SI32, STEP_FP_CVTTSD2SI64}},
        {{STEP_FP_CVTSS2SI32, STEP_FP_CVTSS2SI64}, {STEP_FP_CVTSD2SI32, STEP_FP_CVTSD2SI64}}};
    d->fp = cvt[op == 0x2D][pp == 3][w];
    d->elem = pp == 3 ? 8 : 4;
    d->dwidth = w ? 8 : 4;
    *gpr_dest = 1;
    *no_src = 1;
  } else {
    return 0;
  }
  d->op = STEP_OP_FP;
  return 1;
}

/* VEX (C5 xx / C4 xx xx), map 0F, vvvv 1111 (no second source), the moves between an
 * XMM/YMM register and memory:
 *   10/11 VMOVSS, VMOVSD (F3/F2; VEX.L ignored), VMOVUPS, VMOVUPD (none/66)
 *   28/29 VMOVAPS, VMOVAPD (aligned to their size)   6F/7F VMOVDQA (66, aligned), VMOVDQU (F3)
 *   66 6E VMOVD/VMOVQ xmm, m32/m64 (W)   F3 7E VMOVQ xmm, m64   66 7E VMOVD/VMOVQ m, xmm (W)
 *   66 D6 VMOVQ m64, xmm  (these four VEX.L 0 only: L 1 is #UD)
 * VEX.L 1 makes the packed forms 32 bytes (a YMM register).  A VEX load writes the whole
 * register: the bytes it loads, zeroes up to bit 255 (in the context: vregs and vext), and
 * the handler zeroes bits 256..511 of the ZMM register on an AVX-512 machine
 * (prmc_x86_64.c); a 256-bit store reads vext.  Both need the XSAVE state that only the
 * Linux signal frame carries: d->upper (step.c refuses them without MPSPROT_CTX_VEXT).
 * 128-bit stores read only the XMM register. */
static int vex_decode(const struct mpsprot_context *ctx, struct step_insn *d, struct cursor *c) {
  int v0 = next_byte(c), v1 = next_byte(c), v2 = 0;
  if (v0 < 0 || v1 < 0)
    return 0;
  int r = 0, x = 0, bb = 0, w = 0, vvvv, l, pp;
  if (v0 == 0xC5) {
    r = !((v1 >> 7) & 1);
    vvvv = (v1 >> 3) & 0xF;
    l = (v1 >> 2) & 1;
    pp = v1 & 3;
  } else {
    v2 = next_byte(c);
    if (v2 < 0)
      return 0;
    r = !((v1 >> 7) & 1);
    x = !((v1 >> 6) & 1);
    bb = !((v1 >> 5) & 1);
    if ((v1 & 0x1F) != 1)
      return 0; /* map 0F only */
    w = (v2 >> 7) & 1;
    vvvv = (v2 >> 3) & 0xF;
    l = (v2 >> 2) & 1;
    pp = v2 & 3;
  }
  int op = next_byte(c);
  if (op < 0)
    return 0;
  d->nregs = 1;
  d->opcode = 0xC500u | (uint32_t)op;
  d->src = STEP_REG_NONE;
  d->vex = 1;
  int gpr_dest, no_src;
  if (fp_kind(op, pp, w, d, &gpr_dest, &no_src)) {
    /* Scalar arithmetic: dest <- op(vvvv, memory), bits 128..255 (and 256..511) zeroed;
     * COMIS/UCOMIS and the conversions to a general register have no vvvv (#UD). */
    if (no_src && vvvv != 0xF)
      return 0;
    d->upper = !no_src;
    int rex = 0x40 | (w << 3) | (r << 2) | (x << 1) | bb;
    if (!modrm_tail(ctx, d, c, rex, 0, 0, 0, 0, 0, 0, op))
      return 0;
    /* the first source: vvvv (inverted); COMIS/UCOMIS compare the reg operand */
    d->rt2 = no_src ? d->rt : (~vvvv) & 0xF;
    (void)gpr_dest;
    return 1;
  }
  if (vvvv != 0xF)
    return 0;
  switch (op) {
  case 0x10:
  case 0x11:
  case 0x28:
  case 0x29:
  case 0x6F:
  case 0x7F:
    if (!sse_kind(op, pp, d))
      return 0;
    if (l && d->elem == 16)
      d->elem = 32; /* VEX.256 (VMOVSS/VMOVSD ignore L) */
    break;
  case 0x6E: /* VMOVD/VMOVQ xmm, m (66, W selects) */
    if (pp != 1 || l)
      return 0;
    d->op = STEP_OP_LOAD_V;
    d->elem = w ? 8 : 4;
    break;
  case 0x7E:
    if (l)
      return 0;
    if (pp == 1) { /* VMOVD/VMOVQ m, xmm */
      d->op = STEP_OP_STORE_V;
      d->elem = w ? 8 : 4;
    } else if (pp == 2) { /* VMOVQ xmm, m64 */
      d->op = STEP_OP_LOAD_V;
      d->elem = 8;
    } else {
      return 0;
    }
    break;
  case 0xD6: /* VMOVQ m64, xmm */
    if (pp != 1 || l)
      return 0;
    d->op = STEP_OP_STORE_V;
    d->elem = 8;
    break;
  default:
    return 0;
  }
  d->upper = d->op == STEP_OP_LOAD_V || d->elem == 32;
  int rex = 0x40 | (w << 3) | (r << 2) | (x << 1) | bb;
  return modrm_tail(ctx, d, c, rex, 0, 0, 0, 0, 0, 0, op);
}

/* EVEX (62 P0 P1 P2, AVX-512), map 0F, no second source (vvvv 1111, V' clear), no
 * broadcast (EVEX.b 0: #UD for these moves), vector length 128/256/512 (L'L 11 refused),
 * the moves between an XMM/YMM/ZMM register (0..31: R' and R extend ModRM.reg) and memory:
 *   10/11 VMOVUPS (W0), VMOVUPD (66 W1), VMOVSS (F3 W0, m32), VMOVSD (F2 W1, m64)
 *   28/29 VMOVAPS (W0), VMOVAPD (66 W1): aligned to the vector length
 *   6F/7F VMOVDQA32/64 (66 W0/W1, aligned), VMOVDQU32/64 (F3 W0/W1), VMOVDQU8/16 (F2 W0/W1)
 *   6E VMOVD/VMOVQ xmm, m (66 W0/W1)   7E VMOVD/VMOVQ m, xmm (66 W0/W1)
 *   7E VMOVQ xmm, m64 (F3 W1)   D6 VMOVQ m64, xmm (66 W1)   (these four: L'L 00, no mask)
 * With an opmask (aaa = k1..k7) only the elements whose mask bit is set are accessed
 * (d->mask; an element masked off never faults and is never touched): a masked load keeps
 * (merge) or zeroes ({z}) the register's other elements; a store writes only the enabled
 * elements ({z} on a store is #UD: refused; {z} without a mask is refused too).  A load
 * writes the whole ZMM register: the elements, and zeroes up to bit 511.  disp8 is scaled
 * by the vector length (full-vector forms) or the element size (scalar forms).  Prefixes
 * before 62 (66, F2, F3, REX) are #UD and never reach here; APX's extended registers
 * (P0 bit 3, P1 bit 2 inverted) are refused. */
static int evex_decode(const struct mpsprot_context *ctx, struct step_insn *d, struct cursor *c) {
  int e = next_byte(c), p0 = next_byte(c), p1 = next_byte(c), p2 = next_byte(c);
  int op = next_byte(c);
  if (e != 0x62 || p0 < 0 || p1 < 0 || p2 < 0 || op < 0)
    return 0;
  if ((p0 & 0x0F) != 0x01 || !(p1 & 0x04))
    return 0; /* map 0F only; no APX B4/X4 */
  int r = !((p0 >> 7) & 1), x = !((p0 >> 6) & 1), bb = !((p0 >> 5) & 1), rr = !((p0 >> 4) & 1);
  int w = (p1 >> 7) & 1, vvvv = (p1 >> 3) & 0xF, pp = p1 & 3;
  int z = (p2 >> 7) & 1, ll = (p2 >> 5) & 3, bcst = (p2 >> 4) & 1, vhi = (p2 >> 3) & 1;
  int aaa = p2 & 7;
  if (vvvv != 0xF || !vhi || bcst || ll == 3)
    return 0;
  int vl = 16 << ll, melem = 0, scalar = 0, store = 0, align = 0, nomask = 0;
  switch (op) {
  case 0x10:
  case 0x11:
    store = op == 0x11;
    if (pp == 0 && !w)
      melem = 4; /* VMOVUPS */
    else if (pp == 1 && w)
      melem = 8; /* VMOVUPD */
    else if (pp == 2 && !w)
      melem = 4, scalar = 1; /* VMOVSS */
    else if (pp == 3 && w)
      melem = 8, scalar = 1; /* VMOVSD */
    break;
  case 0x28:
  case 0x29:
    store = op == 0x29;
    align = 1;
    if (pp == 0 && !w)
      melem = 4; /* VMOVAPS */
    else if (pp == 1 && w)
      melem = 8; /* VMOVAPD */
    break;
  case 0x6F:
  case 0x7F:
    store = op == 0x7F;
    if (pp == 1)
      melem = w ? 8 : 4, align = 1; /* VMOVDQA64 / VMOVDQA32 */
    else if (pp == 2)
      melem = w ? 8 : 4; /* VMOVDQU64 / VMOVDQU32 */
    else if (pp == 3)
      melem = w ? 2 : 1; /* VMOVDQU16 / VMOVDQU8 */
    break;
  case 0x6E: /* VMOVD/VMOVQ xmm, m */
    if (pp == 1)
      melem = w ? 8 : 4, scalar = 1, nomask = 1;
    break;
  case 0x7E:
    if (pp == 1) /* VMOVD/VMOVQ m, xmm */
      melem = w ? 8 : 4, scalar = 1, nomask = 1, store = 1;
    else if (pp == 2 && w) /* VMOVQ xmm, m64 */
      melem = 8, scalar = 1, nomask = 1;
    break;
  case 0xD6: /* VMOVQ m64, xmm */
    if (pp == 1 && w)
      melem = 8, scalar = 1, nomask = 1, store = 1;
    break;
  default:
    break;
  }
  if (melem == 0)
    return 0;
  if (nomask && (ll != 0 || aaa != 0 || z))
    return 0;
  if (z && (store || aaa == 0))
    return 0;
  d->nregs = 1;
  d->opcode = 0x6200u | (uint32_t)op;
  d->src = STEP_REG_NONE;
  d->evex = 1;
  d->op = store ? STEP_OP_STORE_V : STEP_OP_LOAD_V;
  d->elem = scalar ? melem : vl;
  d->melem = melem;
  d->align = align;
  d->kreg = aaa;
  d->zeroing = z;
  d->disp8n = scalar ? melem : vl;
  int rex = 0x40 | (w << 3) | (r << 2) | (x << 1) | bb;
  if (!modrm_tail(ctx, d, c, rex, 0, 0, 0, 0, 0, 0, op))
    return 0;
  d->rt |= rr << 4;
  int nelem = d->elem / melem;
  uint64_t all = nelem >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << nelem) - 1;
  d->mask = aaa == 0 ? all : ctx->kregs[aaa] & all;
  return 1;
}

int step_x86_64_decode(const struct mpsprot_context *ctx, struct step_insn *d) {
  memset(d, 0, sizeof *d);
  struct cursor c = {ctx->insn, ctx->insn_len, 0};
  if (c.avail <= 0)
    return 0;
  if (c.avail > X86_MAX_LEN)
    c.avail = X86_MAX_LEN;

  int opsize16 = 0, rep = 0, rex = 0, lock = 0, b;
  if (c.avail >= 1 && (c.p[0] == 0xC5 || c.p[0] == 0xC4))
    return vex_decode(ctx, d, &c);
  if (c.avail >= 1 && c.p[0] == 0x62)
    return evex_decode(ctx, d, &c);
  for (;;) {
    b = next_byte(&c);
    if (b < 0)
      return 0;
    if (b == 0x66 || b == 0xF2 || b == 0xF3 || b == 0xF0) {
      if (rex)
        return 0; /* REX must be the last prefix */
      if (b == 0x66)
        opsize16 = 1;
      else if (b == 0xF0)
        lock = 1;
      else if (rep != 0 && rep != b)
        return 0; /* F2 and F3 together */
      else
        rep = b;
      continue;
    }
    if ((b & 0xF0) == 0x40) {
      if (rex)
        return 0; /* two REX prefixes */
      rex = b;
      continue;
    }
    break; /* every other prefix (67, segments, VEX, EVEX) falls through to refusal */
  }
  int rex_w = (rex >> 3) & 1;
  int osz = rex_w ? 8 : opsize16 ? 2 : 4;
  int imm_size = 0; /* bytes of immediate after the memory operand */
  int byte_reg = 0; /* the reg field names a byte register */
  int need_reg0 = 0;
  int group = 0;    /* the ModRM reg field selects the operation (80 81 83 C0 ... FF) */

  d->nregs = 1;
  d->opcode = (uint32_t)b;
  d->src = STEP_REG_NONE;
  if (b >= 0xAA && b <= 0xAF) {
    /* AA/AB STOS [rdi] <- rAX, AC/AD LODS rAX <- [rsi], AE/AF SCAS: CMP rAX, [rdi]; one
     * iteration (step_x86_64_string).  No ModRM; the segment (ES for rdi; DS for rsi,
     * whose override is refused with the other segment prefixes) has base 0 in 64-bit
     * mode.  LOCK is #UD; F2 (REPNE) before STOS/LODS acts as REP on the CPU but the SDM
     * does not define it: refused. */
    int kind = b <= 0xAB ? 'T' : b <= 0xAD ? 'L' : 'S';
    if (lock || (rep == 0xF2 && kind != 'S'))
      return 0;
    d->op = STEP_OP_STRING;
    d->str = kind;
    d->rep = rep;
    d->elem = d->dwidth = d->size = (b & 1) ? osz : 1;
    d->rt = 0;
    d->base = kind == 'L' ? 6 : 7;
    d->index = STEP_REG_NONE;
    d->scale = 1;
    d->len = c.pos;
    d->access = kind == 'T' ? MPSPROT_ACCESS_WRITE : MPSPROT_ACCESS_READ;
    d->ea = ctx->regs[d->base];
    return 1;
  }
  if (b < 0x40 && (b & 7) < 4) { /* 00..3B: ADD OR ADC SBB AND SUB XOR CMP, memory forms */
    d->alu = b >> 3;
    d->elem = (b & 1) ? osz : 1;
    byte_reg = !(b & 1);
    d->src = 0; /* the reg operand (set below) */
    if (b & 2) { /* op r, r/m: memory is a source */
      d->op = STEP_OP_ALU_LOAD;
      d->reg_dest = 1;
      d->dwidth = d->elem;
    } else { /* op r/m, r */
      d->op = d->alu == STEP_ALU_CMP ? STEP_OP_ALU_LOAD : STEP_OP_RMW;
    }
    goto modrm;
  }
  switch (b) {
  case 0x80: /* group 1 r/m8, imm8 */
  case 0x81: /* group 1 r/m, imm16/32 */
  case 0x83: /* group 1 r/m, imm8 sign-extended */
    d->elem = b == 0x80 ? 1 : osz;
    imm_size = b == 0x81 ? (osz == 2 ? 2 : 4) : 1;
    group = 1;
    break;
  case 0xC0: /* shift group r/m8, imm8 */
  case 0xC1:
  case 0xD0: /* by 1 */
  case 0xD1:
  case 0xD2: /* by CL */
  case 0xD3:
    d->elem = (b & 1) ? osz : 1;
    imm_size = b <= 0xC1 ? 1 : 0;
    if (b == 0xD0 || b == 0xD1)
      d->imm = 1;
    if (b >= 0xD2)
      d->src = 1; /* rcx */
    group = 2;
    break;
  case 0xF6: /* group 3: TEST imm, NOT, NEG */
  case 0xF7:
    d->elem = b == 0xF6 ? 1 : osz;
    group = 3;
    break;
  case 0xFE: /* group 4: INC, DEC r/m8 */
  case 0xFF: /* group 5: INC, DEC, PUSH */
    d->elem = b == 0xFE ? 1 : osz;
    group = 5;
    break;
  case 0x8F: /* POP r/m64 */
    if (opsize16)
      return 0; /* POP m16: refused */
    d->op = STEP_OP_POP;
    d->elem = 8;
    need_reg0 = 1;
    break;
  case 0x84: /* TEST r/m8, r8 */
  case 0x85: /* TEST r/m, r */
  case 0x86: /* XCHG r/m8, r8 */
  case 0x87: /* XCHG r/m, r */
    d->elem = (b & 1) ? osz : 1;
    byte_reg = !(b & 1);
    d->src = 0;
    if (b <= 0x85) {
      d->op = STEP_OP_ALU_LOAD;
      d->alu = STEP_ALU_TEST;
    } else {
      d->op = STEP_OP_RMW;
      d->alu = STEP_ALU_XCHG;
      lock = 1; /* XCHG with memory is always locked */
    }
    break;
  case 0x88: /* MOV r/m8, r8 */
    d->op = STEP_OP_STORE;
    d->elem = 1;
    byte_reg = 1;
    break;
  case 0x89: /* MOV r/m, r */
    d->op = STEP_OP_STORE;
    d->elem = osz;
    break;
  case 0x8A: /* MOV r8, r/m8 */
    d->op = STEP_OP_LOAD;
    d->elem = d->dwidth = 1;
    byte_reg = 1;
    break;
  case 0x8B: /* MOV r, r/m */
    d->op = STEP_OP_LOAD;
    d->elem = d->dwidth = osz;
    break;
  case 0xC6: /* MOV r/m8, imm8 */
    d->op = STEP_OP_STORE_IMM;
    d->elem = imm_size = 1;
    need_reg0 = 1;
    break;
  case 0xC7: /* MOV r/m, imm16/imm32 (REX.W: imm32 sign-extended) */
    d->op = STEP_OP_STORE_IMM;
    d->elem = osz;
    imm_size = osz == 2 ? 2 : 4;
    need_reg0 = 1;
    break;
  case 0x63: /* MOVSXD */
    if (!rex_w && opsize16)
      return 0; /* MOVSXD r16, r/m16: vendors disagree; refuse */
    d->op = STEP_OP_LOAD;
    d->elem = 4;
    d->dwidth = rex_w ? 8 : 4;
    d->sext = rex_w;
    break;
  case 0x0F: {
    int b2 = next_byte(&c);
    if (b2 < 0)
      return 0;
    d->opcode = 0x0F00u | (uint32_t)b2;
    switch (b2) {
    case 0xB6: /* MOVZX r, r/m8 */
    case 0xB7: /* MOVZX r, r/m16 */
    case 0xBE: /* MOVSX r, r/m8 */
    case 0xBF: /* MOVSX r, r/m16 */
      if (rep)
        return 0;
      d->op = STEP_OP_LOAD;
      d->elem = (b2 & 1) ? 2 : 1;
      d->dwidth = osz;
      d->sext = b2 >= 0xBE;
      break;
    case 0x6E: /* 66 0F 6E: MOVD xmm, r/m32 (REX.W: MOVQ xmm, r/m64) */
      if (!opsize16 || rep)
        return 0;
      d->op = STEP_OP_LOAD_V;
      d->elem = rex_w ? 8 : 4;
      break;
    case 0x7E:
      if (rep == 0xF3 && !opsize16) { /* F3 0F 7E: MOVQ xmm, xmm/m64 */
        d->op = STEP_OP_LOAD_V;
        d->elem = 8;
      } else if (opsize16 && !rep) { /* 66 0F 7E: MOVD r/m32, xmm (REX.W: MOVQ r/m64) */
        d->op = STEP_OP_STORE_V;
        d->elem = rex_w ? 8 : 4;
      } else {
        return 0;
      }
      break;
    case 0x10: /* MOVUPS/MOVUPD/MOVSS/MOVSD xmm, m */
    case 0x11: /* ... m, xmm */
    case 0x28: /* MOVAPS/MOVAPD xmm, m (aligned) */
    case 0x29: /* ... m, xmm */
    case 0x6F: /* 66: MOVDQA, F3: MOVDQU xmm, m */
    case 0x7F: /* ... m, xmm */
      if (!sse_move(b2, opsize16, rep, d))
        return 0;
      rep = 0; /* the mandatory prefix is consumed */
      break;
    case 0xD6: /* 66 0F D6: MOVQ xmm/m64, xmm */
      if (!opsize16 || rep)
        return 0;
      d->op = STEP_OP_STORE_V;
      d->elem = 8;
      break;
    case 0x51: case 0x58: case 0x59: case 0x5A: case 0x5C: case 0x5D: case 0x5E: case 0x5F:
    case 0x2A: case 0x2C: case 0x2D: case 0x2E: case 0x2F: { /* scalar SSE arithmetic */
      int pp = sse_pp(opsize16, rep), gpr_dest, no_src;
      if (pp < 0 || !fp_kind(b2, pp, rex_w, d, &gpr_dest, &no_src))
        return 0;
      rep = 0; /* the mandatory prefix is consumed */
      if (!modrm_tail(ctx, d, &c, rex, lock, 0, 0, 0, 0, opsize16, b2))
        return 0;
      d->rt2 = d->rt; /* dest <- op(dest, memory) */
      return 1;
    }
    case 0xB0: /* CMPXCHG r/m8, r8 */
    case 0xB1: /* CMPXCHG r/m, r */
    case 0xC0: /* XADD r/m8, r8 */
    case 0xC1: /* XADD r/m, r */
      d->elem = (b2 & 1) ? osz : 1;
      byte_reg = !(b2 & 1);
      d->src = 0;
      d->op = STEP_OP_RMW;
      d->alu = b2 <= 0xB1 ? STEP_ALU_CMPXCHG : STEP_ALU_XADD;
      break;
    default:
      return 0;
    }
    break;
  }
  default:
    return 0;
  }
modrm:;
  /* F2/F3 before a non-SSE opcode is REP or XACQUIRE/XRELEASE: refused. */
  if (rep && d->op != STEP_OP_LOAD_V)
    return 0;
  return modrm_tail(ctx, d, &c, rex, lock, imm_size, byte_reg, need_reg0, group, opsize16, b);
}

/* The ModRM/SIB/displacement/immediate of the instruction and the effective address. */
static int modrm_tail(const struct mpsprot_context *ctx, struct step_insn *d, struct cursor *cp,
                      int rex, int lock, int imm_size, int byte_reg, int need_reg0, int group,
                      int opsize16, int b) {
  struct cursor c = *cp;
  int rex_w = (rex >> 3) & 1, rex_r = (rex >> 2) & 1, rex_x = (rex >> 1) & 1, rex_b = rex & 1;
  (void)rex_w;

  int modrm = next_byte(&c);
  if (modrm < 0)
    return 0;
  int mod = modrm >> 6, reg = ((modrm >> 3) & 7) | (rex_r << 3), rm = modrm & 7;
  int digit = (modrm >> 3) & 7;
  if (mod == 3)
    return 0; /* register-direct: no memory access */
  if (need_reg0 && digit != 0)
    return 0; /* C6/C7 with reg != 0 (XABORT, XBEGIN, or undefined); 8F /1..7 (XOP) */
  switch (group) {
  case 1: /* 80 81 83 /digit: ADD OR ADC SBB AND SUB XOR CMP, with an immediate */
    d->alu = digit;
    d->op = digit == STEP_ALU_CMP ? STEP_OP_ALU_LOAD : STEP_OP_RMW;
    break;
  case 2: /* C0 C1 D0..D3 /4 SHL, /5 SHR, /7 SAR (ROL..RCR and /6 refused) */
    if (digit != 4 && digit != 5 && digit != 7)
      return 0;
    d->alu = digit == 4 ? STEP_ALU_SHL : digit == 5 ? STEP_ALU_SHR : STEP_ALU_SAR;
    d->op = STEP_OP_RMW;
    break;
  case 3: /* F6 F7 /0 TEST imm, /2 NOT, /3 NEG (/1 undocumented, MUL..IDIV refused) */
    if (digit == 0) {
      d->alu = STEP_ALU_TEST;
      d->op = STEP_OP_ALU_LOAD;
      imm_size = d->elem == 1 ? 1 : d->elem == 2 ? 2 : 4;
    } else if (digit == 2 || digit == 3) {
      d->alu = digit == 2 ? STEP_ALU_NOT : STEP_ALU_NEG;
      d->op = STEP_OP_RMW;
    } else {
      return 0;
    }
    break;
  case 5: /* FE FF /0 INC, /1 DEC; FF /6 PUSH m64 */
    if (digit == 0 || digit == 1) {
      d->alu = digit == 0 ? STEP_ALU_INC : STEP_ALU_DEC;
      d->op = STEP_OP_RMW;
    } else if (digit == 6 && b == 0xFF && !opsize16) {
      d->op = STEP_OP_PUSH;
      d->elem = 8;
    } else {
      return 0;
    }
    break;
  default:
    break;
  }
  /* LOCK only on the read-modify-write forms that allow it (not the shifts). */
  if (lock && (d->op != STEP_OP_RMW || d->alu == STEP_ALU_SHL || d->alu == STEP_ALU_SHR
               || d->alu == STEP_ALU_SAR))
    return 0;
  d->lock = lock;

  d->index = STEP_REG_NONE;
  d->scale = 1;
  int disp_size = mod == 1 ? 1 : mod == 2 ? 4 : 0;
  if (rm == 4) {
    int sib = next_byte(&c);
    if (sib < 0)
      return 0;
    int idx = ((sib >> 3) & 7) | (rex_x << 3), sb = sib & 7;
    if (idx != 4) {
      d->index = idx;
      d->scale = 1 << (sib >> 6);
    }
    if (sb == 5 && mod == 0) {
      d->base = STEP_REG_NONE; /* disp32, no base (also with REX.B) */
      disp_size = 4;
    } else {
      d->base = sb | (rex_b << 3);
    }
  } else if (rm == 5 && mod == 0) {
    d->base = STEP_REG_RIP; /* also with REX.B: R13 needs mod 01 */
    disp_size = 4;
  } else {
    d->base = rm | (rex_b << 3);
  }
  if (disp_size != 0 && !next_signed(&c, disp_size, &d->disp))
    return 0;
  if (disp_size == 1 && d->disp8n > 1)
    d->disp *= d->disp8n; /* EVEX compressed displacement */
  if (imm_size != 0) {
    int64_t imm;
    if (!next_signed(&c, imm_size, &imm))
      return 0;
    d->imm = (uint64_t)imm;
    if (group == 2)
      d->imm &= 0xFF; /* a shift count is unsigned */
  }
  d->len = c.pos;

  d->rt = reg;
  if (byte_reg && rex == 0 && reg >= 4 && reg <= 7) {
    d->high8 = 1; /* AH, CH, DH, BH */
    d->rt = reg - 4;
  }
  if (d->src == 0)
    d->src = d->rt; /* the reg operand is the source */
  d->size = d->elem;
  d->access = (d->op == STEP_OP_LOAD || d->op == STEP_OP_LOAD_V || d->op == STEP_OP_ALU_LOAD
               || d->op == STEP_OP_PUSH || d->op == STEP_OP_FP)
                  ? MPSPROT_ACCESS_READ
                  : MPSPROT_ACCESS_WRITE;
  uint64_t ea = (uint64_t)d->disp;
  if (d->base == STEP_REG_RIP)
    ea += ctx->pc + (uint64_t)d->len;
  else if (d->base == 4 && d->op == STEP_OP_POP)
    ea += ctx->regs[4] + 8; /* POP computes its address after incrementing rsp */
  else if (d->base != STEP_REG_NONE)
    ea += ctx->regs[d->base];
  if (d->index != STEP_REG_NONE)
    ea += ctx->regs[d->index] * (uint64_t)d->scale;
  d->ea = ea;
  return 1;
}

void step_x86_64_store_data(const struct mpsprot_context *ctx, const struct step_insn *d,
                            uint8_t *data) {
  switch (d->op) {
  case STEP_OP_STORE: {
    uint64_t v = ctx->regs[d->rt];
    if (d->high8)
      v >>= 8;
    step_le_put(data, d->elem, v);
    break;
  }
  case STEP_OP_STORE_IMM:
    step_le_put(data, d->elem, d->imm);
    break;
  case STEP_OP_STRING: /* STOS: rAX */
    step_le_put(data, d->elem, ctx->regs[0]);
    break;
  case STEP_OP_STORE_V: /* a 32-byte store: the YMM register's upper half from vext */
    if (d->evex) { /* the low d->elem bytes of zmm rt (step.c writes the enabled elements) */
      uint8_t z[64];
      step_zmm_get(ctx, d->rt, z);
      memcpy(data, z, (size_t)d->elem);
      break;
    }
    memcpy(data, ctx->vregs[d->rt], (size_t)(d->elem < 16 ? d->elem : 16));
    if (d->elem > 16)
      memcpy(data + 16, ctx->vext[d->rt], (size_t)(d->elem - 16));
    break;
  default:
    break;
  }
}

static void write_gpr(struct mpsprot_context *ctx, int r, int width, int high8, uint64_t v) {
  uint64_t old = ctx->regs[r];
  switch (width) {
  case 1:
    if (high8)
      ctx->regs[r] = (old & ~(uint64_t)0xFF00) | ((v & 0xFF) << 8);
    else
      ctx->regs[r] = (old & ~(uint64_t)0xFF) | (v & 0xFF);
    break;
  case 2:
    ctx->regs[r] = (old & ~(uint64_t)0xFFFF) | (v & 0xFFFF);
    break;
  case 4:
    ctx->regs[r] = v & 0xFFFFFFFFu; /* 32-bit writes zero-extend */
    break;
  default:
    ctx->regs[r] = v;
    break;
  }
  if (r == 4)
    ctx->sp = ctx->regs[4];
}

void step_x86_64_load(struct mpsprot_context *ctx, const struct step_insn *d,
                      const uint8_t *data) {
  if (d->op == STEP_OP_LOAD_V && d->evex) {
    /* EVEX: element j <- memory where mask bit j is set, else kept (merge) or zeroed
     * ({z}); bytes d->elem..63 zeroed.  Only the enabled elements of data were read. */
    uint8_t old[64], z[64];
    step_zmm_get(ctx, d->rt, old);
    memset(z, 0, sizeof z);
    for (int j = 0; j < d->elem / d->melem; j++) {
      const uint8_t *src = (d->mask >> j) & 1 ? data : d->zeroing ? NULL : old;
      if (src != NULL)
        memcpy(z + j * d->melem, src + j * d->melem, (size_t)d->melem);
    }
    step_zmm_put(ctx, d->rt, z);
    return;
  }
  if (d->op == STEP_OP_LOAD_V) {
    /* Legacy SSE: the XMM register (MOVSS/MOVSD/MOVD/MOVQ zero the rest of it), bits 128
     * and up kept.  VEX: the whole YMM register, and bits 256..511 of the ZMM register
     * where the context holds them (MPSPROT_CTX_AVX512). */
    memset(ctx->vregs[d->rt], 0, sizeof ctx->vregs[d->rt]);
    memcpy(ctx->vregs[d->rt], data, (size_t)(d->elem < 16 ? d->elem : 16));
    if (d->vex) {
      memset(ctx->vext[d->rt], 0, sizeof ctx->vext[d->rt]);
      if (d->elem > 16)
        memcpy(ctx->vext[d->rt], data + 16, (size_t)(d->elem - 16));
      if (ctx->flags & MPSPROT_CTX_AVX512)
        memset(ctx->zmmh[d->rt], 0, sizeof ctx->zmmh[d->rt]);
    }
    return;
  }
  uint64_t v = step_le_get(data, d->elem);
  if (d->sext)
    v = step_sext(v, 8 * d->elem);
  write_gpr(ctx, d->rt, d->dwidth, d->high8, v);
}

void step_x86_64_finish(struct mpsprot_context *ctx, const struct step_insn *d) {
  ctx->pc += (uint64_t)d->len;
}

/* ---- ALU semantics (STEP_OP_ALU_LOAD, STEP_OP_RMW) -------------------------------
 * Flags as the Intel SDM defines them: CF, PF, AF, ZF, SF, OF from the result for ADD,
 * ADC, SUB, SBB, CMP, NEG, XADD, CMPXCHG; INC and DEC keep CF; AND, OR, XOR, TEST clear
 * CF and OF; NOT, XCHG change none.  Where the SDM leaves a flag undefined we choose:
 * AF = 0 after AND/OR/XOR/TEST and after a shift by a non-zero count, OF by the count-1
 * formula for every count (SHL: MSB(result) ^ CF; SHR: MSB(operand); SAR: 0), CF = 0
 * (SHL, SHR) or the sign (SAR) for counts above the width of an 8- or 16-bit operand.
 * A shift by 0 (after masking the count to 5 bits, 6 with REX.W) changes no flags. */
#define F_CF 0x001u
#define F_PF 0x004u
#define F_AF 0x010u
#define F_ZF 0x040u
#define F_SF 0x080u
#define F_OF 0x800u
#define F_STATUS (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)
#define RFLAGS 16

static uint64_t width_mask(int bits) { return bits >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << bits) - 1; }

static uint64_t flags_szp(uint64_t r, int bits) {
  uint64_t f = 0;
  if ((r & width_mask(bits)) == 0)
    f |= F_ZF;
  if ((r >> (bits - 1)) & 1)
    f |= F_SF;
  unsigned p = (unsigned)(r & 0xFF);
  p ^= p >> 4;
  p ^= p >> 2;
  p ^= p >> 1;
  if ((p & 1) == 0)
    f |= F_PF;
  return f;
}

/* a + b + c (add) or a - b - c (!add), masked to bits; the status flags in *f. */
static uint64_t arith(int add, int bits, uint64_t a, uint64_t b, uint64_t c, uint64_t *f) {
  uint64_t m = width_mask(bits), r;
  uint64_t cf, of;
  a &= m;
  b &= m;
  if (add) {
    r = (a + b + c) & m;
    cf = (((a & b) | ((a | b) & ~r)) >> (bits - 1)) & 1;
    of = (((a ^ r) & (b ^ r)) >> (bits - 1)) & 1;
  } else {
    r = (a - b - c) & m;
    cf = (((~a & b) | ((~a | b) & r)) >> (bits - 1)) & 1;
    of = (((a ^ b) & (a ^ r)) >> (bits - 1)) & 1;
  }
  *f = flags_szp(r, bits) | (cf ? F_CF : 0) | (of ? F_OF : 0) | ((((a ^ b ^ r) >> 4) & 1) ? F_AF : 0);
  return r;
}

static uint64_t reg_value(const struct mpsprot_context *ctx, int r, int width, int high8) {
  if (high8)
    return (ctx->regs[r] >> 8) & 0xFF;
  return ctx->regs[r] & width_mask(8 * width);
}

/* The register's whole value after writing v with write_gpr's semantics. */
static uint64_t reg_merge(uint64_t old, int width, int high8, uint64_t v) {
  switch (width) {
  case 1:
    return high8 ? (old & ~(uint64_t)0xFF00) | ((v & 0xFF) << 8) : (old & ~(uint64_t)0xFF) | (v & 0xFF);
  case 2:
    return (old & ~(uint64_t)0xFFFF) | (v & 0xFFFF);
  case 4:
    return v & 0xFFFFFFFFu;
  default:
    return v;
  }
}

static void out_reg(struct step_rmw *out, int r, uint64_t v) {
  out->out_reg[out->nout] = r;
  out->out_val[out->nout++] = v;
}

void step_x86_64_rmw(const struct mpsprot_context *ctx, const struct step_insn *d,
                     const uint64_t old[2], struct step_rmw *out) {
  int n = d->elem, bits = 8 * n;
  uint64_t m = width_mask(bits), mem = old[0] & m, fl = ctx->regs[RFLAGS];
  uint64_t cf = fl & F_CF, f = 0, r = 0;
  int set_flags = 1, keep_cf = 0;
  uint64_t src;
  if (d->src == STEP_REG_NONE)
    src = d->imm & m;
  else if (d->alu == STEP_ALU_SHL || d->alu == STEP_ALU_SHR || d->alu == STEP_ALU_SAR)
    src = ctx->regs[1] & 0xFF; /* CL */
  else
    src = reg_value(ctx, d->src, n, d->high8);
  out->nout = 0;
  out->write = 0;
  out->mem_new[1] = 0;
  uint64_t a = mem, b = src;
  if (d->op == STEP_OP_ALU_LOAD && d->reg_dest) {
    a = reg_value(ctx, d->rt, n, d->high8);
    b = mem;
  }
  switch (d->alu) {
  case STEP_ALU_ADD:
  case STEP_ALU_ADC:
    r = arith(1, bits, a, b, d->alu == STEP_ALU_ADC ? cf : 0, &f);
    break;
  case STEP_ALU_SUB:
  case STEP_ALU_SBB:
  case STEP_ALU_CMP:
    r = arith(0, bits, a, b, d->alu == STEP_ALU_SBB ? cf : 0, &f);
    break;
  case STEP_ALU_AND:
  case STEP_ALU_TEST:
    r = a & b;
    f = flags_szp(r, bits);
    break;
  case STEP_ALU_OR:
    r = a | b;
    f = flags_szp(r, bits);
    break;
  case STEP_ALU_XOR:
    r = a ^ b;
    f = flags_szp(r, bits);
    break;
  case STEP_ALU_INC:
  case STEP_ALU_DEC:
    r = arith(d->alu == STEP_ALU_INC, bits, a, 1, 0, &f);
    keep_cf = 1;
    break;
  case STEP_ALU_NOT:
    r = ~a & m;
    set_flags = 0;
    break;
  case STEP_ALU_NEG:
    r = arith(0, bits, 0, a, 0, &f);
    break;
  case STEP_ALU_SHL:
  case STEP_ALU_SHR:
  case STEP_ALU_SAR: {
    unsigned count = (unsigned)(b & (bits == 64 ? 63 : 31));
    if (count == 0) {
      r = a;
      set_flags = 0;
      break;
    }
    uint64_t sa = step_sext(a, bits), c, msb;
    if (d->alu == STEP_ALU_SHL) {
      r = count >= (unsigned)bits ? 0 : (a << count) & m;
      c = count > (unsigned)bits ? 0 : (a >> (bits - count)) & 1;
      msb = (r >> (bits - 1)) & 1;
      f = flags_szp(r, bits) | (c ? F_CF : 0) | ((msb ^ c) ? F_OF : 0);
    } else if (d->alu == STEP_ALU_SHR) {
      r = count >= (unsigned)bits ? 0 : a >> count;
      c = count > (unsigned)bits ? 0 : (a >> (count - 1)) & 1;
      f = flags_szp(r, bits) | (c ? F_CF : 0) | (((a >> (bits - 1)) & 1) ? F_OF : 0);
    } else {
      unsigned k = count >= (unsigned)bits ? (unsigned)bits - 1 : count;
      r = (uint64_t)((int64_t)sa >> k) & m;
      c = count > (unsigned)bits ? (a >> (bits - 1)) & 1 : (uint64_t)((int64_t)sa >> (count - 1)) & 1;
      f = flags_szp(r, bits) | (c ? F_CF : 0);
    }
    break;
  }
  case STEP_ALU_XCHG:
    r = src;
    set_flags = 0;
    out_reg(out, d->rt, reg_merge(ctx->regs[d->rt], n, d->high8, mem));
    break;
  case STEP_ALU_XADD:
    r = arith(1, bits, mem, src, 0, &f);
    out_reg(out, d->rt, reg_merge(ctx->regs[d->rt], n, d->high8, mem));
    break;
  case STEP_ALU_CMPXCHG: {
    uint64_t acc = ctx->regs[0] & m;
    arith(0, bits, acc, mem, 0, &f);
    if (acc == mem) {
      r = src;
    } else {
      r = mem;
      out_reg(out, 0, reg_merge(ctx->regs[0], n, 0, mem)); /* the accumulator <- memory */
    }
    break;
  }
  default:
    set_flags = 0;
    break;
  }
  if (d->op == STEP_OP_RMW) {
    out->write = !(d->alu == STEP_ALU_CMPXCHG && r == mem && (ctx->regs[0] & m) != mem);
    out->mem_new[0] = r & m;
  } else if (d->reg_dest && d->alu != STEP_ALU_CMP && d->alu != STEP_ALU_TEST) {
    out_reg(out, d->rt, reg_merge(ctx->regs[d->rt], n, d->high8, r));
  }
  if (set_flags) {
    if (keep_cf)
      f = (f & ~(uint64_t)F_CF) | cf;
    out_reg(out, RFLAGS, (fl & ~(uint64_t)F_STATUS) | f);
  }
}

int step_x86_64_string(struct mpsprot_context *ctx, const struct step_insn *d,
                       const uint8_t *data) {
  if (d->str == 'L') {
    write_gpr(ctx, 0, d->elem, 0, step_le_get(data, d->elem));
  } else if (d->str == 'S') { /* the flags of CMP rAX, m: rAX - m */
    struct step_insn t = *d;
    t.op = STEP_OP_ALU_LOAD;
    t.alu = STEP_ALU_CMP;
    t.reg_dest = 1;
    t.rt = 0;
    t.src = 0;
    t.high8 = 0;
    uint64_t old[2] = {step_le_get(data, d->elem), 0};
    struct step_rmw out;
    step_x86_64_rmw(ctx, &t, old, &out);
    for (int k = 0; k < out.nout; k++)
      ctx->regs[out.out_reg[k]] = out.out_val[k];
  }
  uint64_t step = (ctx->regs[RFLAGS] & 0x400u) ? (uint64_t)0 - (uint64_t)d->elem : (uint64_t)d->elem;
  ctx->regs[d->base] += step; /* DF (bit 10) set: down */
  if (!d->rep)
    return 1;
  if (--ctx->regs[1] == 0)
    return 1;
  if (d->str == 'S') {
    int zf = (ctx->regs[RFLAGS] & F_ZF) != 0;
    return d->rep == 0xF2 ? zf : !zf; /* REPNE ends on equal, REPE on not equal */
  }
  return 0;
}
