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
 * with the prefixes 66 (operand size; mandatory prefix of the SSE forms), F3 (only as the
 * mandatory prefix of F3 0F 7E) and REX (W/R/X/B; it must be the last prefix), and every
 * ModRM/SIB memory form: mod 00/01/10, SIB with and without index (index 100 is "none"
 * unless REX.X), SIB base 101 with mod 00 = disp32 without base, rm 101 with mod 00 =
 * RIP-relative (relative to the next instruction), RSP/R12 as base through SIB.
 *
 * What is refused: register-direct ModRM (mod 11: no memory access), segment overrides
 * (26 2E 36 3E 64 65: the effective address would not be a linear address), 67 (32-bit
 * addressing), F0 LOCK, F2/F3 on anything but F3 0F 7E (REP, XACQUIRE/XRELEASE), a legacy
 * prefix or a second REX after REX (the hardware ignores such a REX; we do not guess),
 * VEX/EVEX/XOP, MMX forms (no MMX registers in the context), every other opcode, and any
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

int step_x86_64_decode(const struct mpsprot_context *ctx, struct step_insn *d) {
  memset(d, 0, sizeof *d);
  struct cursor c = {ctx->insn, ctx->insn_len, 0};
  if (c.avail <= 0)
    return 0;
  if (c.avail > X86_MAX_LEN)
    c.avail = X86_MAX_LEN;

  int opsize16 = 0, rep = 0, rex = 0, b;
  for (;;) {
    b = next_byte(&c);
    if (b < 0)
      return 0;
    if (b == 0x66 || b == 0xF2 || b == 0xF3) {
      if (rex)
        return 0; /* REX must be the last prefix */
      if (b == 0x66)
        opsize16 = 1;
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
    break; /* every other prefix (F0, 67, segments, VEX, EVEX) falls through to refusal */
  }
  int rex_w = (rex >> 3) & 1, rex_r = (rex >> 2) & 1, rex_x = (rex >> 1) & 1, rex_b = rex & 1;
  int osz = rex_w ? 8 : opsize16 ? 2 : 4;
  int imm_size = 0; /* bytes of immediate after the memory operand */
  int byte_reg = 0; /* the reg field names a byte register */
  int need_reg0 = 0;

  d->nregs = 1;
  d->opcode = (uint32_t)b;
  switch (b) {
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
    case 0xD6: /* 66 0F D6: MOVQ xmm/m64, xmm */
      if (!opsize16 || rep)
        return 0;
      d->op = STEP_OP_STORE_V;
      d->elem = 8;
      break;
    default:
      return 0;
    }
    break;
  }
  default:
    return 0;
  }
  /* F2/F3 before a non-SSE opcode is REP or XACQUIRE/XRELEASE: refused. */
  if (rep && d->op != STEP_OP_LOAD_V)
    return 0;

  int modrm = next_byte(&c);
  if (modrm < 0)
    return 0;
  int mod = modrm >> 6, reg = ((modrm >> 3) & 7) | (rex_r << 3), rm = modrm & 7;
  if (mod == 3)
    return 0; /* register-direct: no memory access */
  if (need_reg0 && ((modrm >> 3) & 7) != 0)
    return 0; /* C6/C7 with reg != 0 (XABORT, XBEGIN, or undefined) */

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
  if (imm_size != 0) {
    int64_t imm;
    if (!next_signed(&c, imm_size, &imm))
      return 0;
    d->imm = (uint64_t)imm;
  }
  d->len = c.pos;

  d->rt = reg;
  if (byte_reg && rex == 0 && reg >= 4 && reg <= 7) {
    d->high8 = 1; /* AH, CH, DH, BH */
    d->rt = reg - 4;
  }
  d->size = d->elem;
  d->access = (d->op == STEP_OP_LOAD || d->op == STEP_OP_LOAD_V) ? MPSPROT_ACCESS_READ
                                                                   : MPSPROT_ACCESS_WRITE;
  uint64_t ea = (uint64_t)d->disp;
  if (d->base == STEP_REG_RIP)
    ea += ctx->pc + (uint64_t)d->len;
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
  case STEP_OP_STORE_V:
    memcpy(data, ctx->vregs[d->rt], (size_t)d->elem);
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
  if (d->op == STEP_OP_LOAD_V) {
    memset(ctx->vregs[d->rt], 0, sizeof ctx->vregs[d->rt]);
    memcpy(ctx->vregs[d->rt], data, (size_t)d->elem);
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
