/* difftest.c -- the stepping decoders' side of the differential test (difftest.sh)
 *
 * Reads lines "<arch> <address> <hex>[<TAB><anything>]" on stdin, where arch is x86_64
 * or aarch64, address is the instruction's address (hex), and hex is the instruction's
 * bytes followed by the bytes after it (x86-64, up to 16 in all; insn_len is their
 * count) or the 32-bit instruction word as objdump prints it (aarch64).  For each line
 * it prints "<verdict><TAB><kind><TAB><anything>": the decoder's verdict in the
 * canonical form that difftest.sh derives from objdump's text, and (aarch64) what
 * step_aarch64_access_kind says ("-" on x86-64).
 *
 *   x86-64:  ACCEPT len=N kind=R|W size=N mn=MNEMONIC reg=OPERAND
 *                   mem=base=B,index=I,scale=N,disp=D[,ea=HEX]
 *   aarch64: ACCEPT kind=R|W size=N regs=R[,R2] mem=base=B,index=I,ext=E,shift=N,disp=D,wb=W
 *   either:  REFUSE
 *
 * Displacements are printed as objdump prints them: signed hex for [base+index+disp]
 * (x86-64), unsigned 64-bit hex for rip-relative and absolute operands, decimal on
 * aarch64.  ea= is the rip-relative target, which objdump prints in its comment.
 *
 * The effective address is also checked against the printed fields: every register
 * holds a distinct synthetic value, and ea must equal base + index * scale + disp (x86)
 * or base + extend(index) << shift + disp (aarch64, writeback-aware); a mismatch
 * prints EAMISMATCH instead of ACCEPT.
 *
 * Links only the decoders (step_x86_64.c, step_aarch64.c): no region is needed.
 */
#include "step.h"
#include "step_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const r64[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                    "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
static const char *const r32[16] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
                                    "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"};
static const char *const r16[16] = {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di",
                                    "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"};
static const char *const r8[16] = {"al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil",
                                   "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"};
static const char *const r8h[4] = {"ah", "ch", "dh", "bh"};

static uint64_t synthetic(int r) { return 0x0000100000000000ull + (uint64_t)r * 0x10000101ull; }

static void fill_regs(struct mpsprot_context *ctx) {
  for (int r = 0; r < 32; r++)
    ctx->regs[r] = synthetic(r);
}

static const char *x86_reg(int r, int width, int high8) {
  switch (width) {
  case 1:
    return high8 ? r8h[r] : r8[r];
  case 2:
    return r16[r];
  case 4:
    return r32[r];
  default:
    return r64[r];
  }
}

static void hex_disp(char *out, size_t n, int64_t disp, int is_unsigned) {
  if (is_unsigned)
    snprintf(out, n, "0x%" PRIx64, (uint64_t)disp);
  else if (disp < 0)
    snprintf(out, n, "-0x%" PRIx64, -(uint64_t)disp);
  else
    snprintf(out, n, "0x%" PRIx64, (uint64_t)disp);
}

static void x86_mem(const struct mpsprot_context *ctx, const struct step_insn *dp, char *out,
                    size_t n, const char *mn, const char *reg);

static void x86(const struct mpsprot_context *ctx, char *out, size_t n) {
  struct step_insn d;
  if (!step_x86_64_decode(ctx, &d)) {
    snprintf(out, n, "REFUSE");
    return;
  }
  static const char *const alu_mn[] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp",
                                       "test", "inc", "dec", "not", "neg", "shl", "shr", "sar",
                                       "xchg", "xadd", "cmpxchg"};
  if (d.op == STEP_OP_ALU_LOAD || d.op == STEP_OP_RMW || d.op == STEP_OP_PUSH
      || d.op == STEP_OP_POP) {
    char mnb[24], reg[40];
    const char *m0 = d.op == STEP_OP_PUSH ? "push" : d.op == STEP_OP_POP ? "pop" : alu_mn[d.alu];
    snprintf(mnb, sizeof mnb, "%s%s", d.lock && d.alu != STEP_ALU_XCHG ? "lock." : "", m0);
    uint64_t m = d.elem == 8 ? ~0ull : (1ull << (8 * d.elem)) - 1;
    if (d.op == STEP_OP_PUSH || d.op == STEP_OP_POP || d.alu == STEP_ALU_INC
        || d.alu == STEP_ALU_DEC || d.alu == STEP_ALU_NOT || d.alu == STEP_ALU_NEG)
      snprintf(reg, sizeof reg, "none");
    else if (d.opcode == 0xD0 || d.opcode == 0xD1)
      snprintf(reg, sizeof reg, "1");
    else if (d.opcode == 0xD2 || d.opcode == 0xD3)
      snprintf(reg, sizeof reg, "cl");
    else if (d.src == STEP_REG_NONE)
      snprintf(reg, sizeof reg, "0x%" PRIx64, d.imm & m);
    else
      snprintf(reg, sizeof reg, "%s", x86_reg(d.rt, d.elem, d.high8));
    x86_mem(ctx, &d, out, n, mnb, reg);
    return;
  }
  if (d.op == STEP_OP_FP) { /* scalar SSE/VEX arithmetic: reg= dest[,first source] */
    static const char *const fpn[STEP_FP_COUNT] = {
        "?", "addss", "addsd", "mulss", "mulsd", "subss", "subsd", "divss", "divsd", "minss",
        "minsd", "maxss", "maxsd", "sqrtss", "sqrtsd", "cvtss2sd", "cvtsd2ss", "cvtsi2ss",
        "cvtsi2ss", "cvtsi2sd", "cvtsi2sd", "ucomiss", "ucomisd", "comiss", "comisd",
        "cvttss2si", "cvttss2si", "cvttsd2si", "cvttsd2si", "cvtss2si", "cvtss2si",
        "cvtsd2si", "cvtsd2si"};
    char mnb[24], reg[40];
    snprintf(mnb, sizeof mnb, "%s%s", d.vex ? "v" : "", fpn[d.fp]);
    if (d.fp >= STEP_FP_CVTTSS2SI32)
      snprintf(reg, sizeof reg, "%s", x86_reg(d.rt, d.dwidth, 0));
    else if (d.vex && (d.fp < STEP_FP_UCOMISS || d.fp > STEP_FP_COMISD))
      snprintf(reg, sizeof reg, "xmm%d,xmm%d", d.rt, d.rt2);
    else
      snprintf(reg, sizeof reg, "xmm%d", d.rt);
    x86_mem(ctx, &d, out, n, mnb, reg);
    return;
  }
  if (d.op == STEP_OP_STRING) { /* objdump's name: [rep.|repz.|repnz.]scas/lods/stos */
    char mnb[24];
    const char *base = d.str == 'S' ? "scas" : d.str == 'L' ? "lods" : "stos";
    const char *rp = d.rep == 0xF2 ? "repnz." : d.rep == 0xF3 ? (d.str == 'S' ? "repz." : "rep.") : "";
    snprintf(mnb, sizeof mnb, "%s%s", rp, base);
    x86_mem(ctx, &d, out, n, mnb, x86_reg(0, d.elem, 0));
    return;
  }
  if (d.evex) { /* AVX-512 moves: the name from opcode, pp and W; " mask=kN[z]" appended */
    int pp = ctx->insn[2] & 3, w = (ctx->insn[2] >> 7) & 1;
    const char *en = d.elem == 4 && d.melem == 4 && (d.opcode & 0xFF) != 0x10 && (d.opcode & 0xFF) != 0x11 ? "vmovd" : "vmovq";
    switch (d.opcode & 0xFF) {
    case 0x10: case 0x11:
      en = pp == 0 ? "vmovups" : pp == 1 ? "vmovupd" : pp == 2 ? "vmovss" : "vmovsd";
      break;
    case 0x28: case 0x29:
      en = pp == 0 ? "vmovaps" : "vmovapd";
      break;
    case 0x6F: case 0x7F:
      en = pp == 1 ? (w ? "vmovdqa64" : "vmovdqa32") : pp == 2 ? (w ? "vmovdqu64" : "vmovdqu32")
                                                               : (w ? "vmovdqu16" : "vmovdqu8");
      break;
    default:
      break;
    }
    char reg[16];
    snprintf(reg, sizeof reg, "%cmm%d", d.elem == 64 ? 'z' : d.elem == 32 ? 'y' : 'x', d.rt);
    x86_mem(ctx, &d, out, n, en, reg);
    if (d.kreg != 0) {
      size_t l = strlen(out);
      snprintf(out + l, n - l, " mask=k%d%s", d.kreg, d.zeroing ? "z" : "");
    }
    return;
  }
  const char *mn = "?";
  switch (d.opcode) {
  case 0x88: case 0x89: case 0x8A: case 0x8B: case 0xC6: case 0xC7:
    mn = "mov";
    break;
  case 0x63:
    mn = "movsxd";
    break;
  case 0x0FB6: case 0x0FB7:
    mn = "movzx";
    break;
  case 0x0FBE: case 0x0FBF:
    mn = "movsx";
    break;
  default: {
    /* the SSE/VEX moves: the name from the opcode and the mandatory prefix */
    static char vname[16];
    int pp = 0, i = 0;
    if (d.vex) {
      pp = ctx->insn[0] == 0xC5 ? ctx->insn[1] & 3 : ctx->insn[2] & 3;
    } else {
      for (; i < ctx->insn_len && (ctx->insn[i] == 0x66 || ctx->insn[i] == 0xF2 || ctx->insn[i] == 0xF3 || (ctx->insn[i] & 0xF0) == 0x40); i++)
        if (ctx->insn[i] == 0x66 && pp == 0)
          pp = 1;
        else if (ctx->insn[i] == 0xF3)
          pp = 2;
        else if (ctx->insn[i] == 0xF2)
          pp = 3;
    }
    const char *base = d.elem == 4 ? "movd" : "movq";
    switch (d.opcode & 0xFF) {
    case 0x10: case 0x11:
      base = pp == 0 ? "movups" : pp == 1 ? "movupd" : pp == 2 ? "movss" : "movsd";
      break;
    case 0x28: case 0x29:
      base = pp == 0 ? "movaps" : "movapd";
      break;
    case 0x6F:
    case 0x7F:
      base = pp == 1 ? "movdqa" : "movdqu";
      break;
    default:
      break;
    }
    snprintf(vname, sizeof vname, "%s%s", d.vex ? "v" : "", base);
    mn = vname;
    break;
  }
  }
  char reg[40];
  switch (d.op) {
  case STEP_OP_LOAD:
    snprintf(reg, sizeof reg, "%s", x86_reg(d.rt, d.dwidth, d.high8));
    break;
  case STEP_OP_STORE:
    snprintf(reg, sizeof reg, "%s", x86_reg(d.rt, d.elem, d.high8));
    break;
  case STEP_OP_STORE_IMM: {
    uint64_t v = d.elem == 8 ? d.imm : d.imm & ((1ull << (8 * d.elem)) - 1);
    snprintf(reg, sizeof reg, "0x%" PRIx64, v);
    break;
  }
  default:
    snprintf(reg, sizeof reg, "%cmm%d", d.elem == 32 ? 'y' : 'x', d.rt);
    break;
  }
  x86_mem(ctx, &d, out, n, mn, reg);
}

static void x86_mem(const struct mpsprot_context *ctx, const struct step_insn *dp, char *out,
                    size_t n, const char *mn, const char *reg) {
  struct step_insn d = *dp;
  int absolute = d.base == STEP_REG_NONE && d.index == STEP_REG_NONE;
  char disp[40];
  hex_disp(disp, sizeof disp, d.disp, d.base == STEP_REG_RIP || absolute);
  const char *base = d.base == STEP_REG_RIP ? "rip" : d.base == STEP_REG_NONE ? "none" : r64[d.base];
  const char *index = d.index == STEP_REG_NONE ? "none" : r64[d.index];
  char ea[40] = "";
  if (d.base == STEP_REG_RIP)
    snprintf(ea, sizeof ea, ",ea=%" PRIx64, d.ea);
  /* ea from the printed fields */
  uint64_t want = (uint64_t)d.disp;
  if (d.base == STEP_REG_RIP)
    want += ctx->pc + (uint64_t)d.len;
  else if (d.base == 4 && d.op == STEP_OP_POP)
    want += synthetic(4) + 8;
  else if (d.base != STEP_REG_NONE)
    want += synthetic(d.base);
  if (d.index != STEP_REG_NONE)
    want += synthetic(d.index) * (uint64_t)d.scale;
  snprintf(out, n, "%s len=%d kind=%s size=%d mn=%s reg=%s mem=base=%s,index=%s,scale=%d,disp=%s%s",
           want == d.ea ? "ACCEPT" : "EAMISMATCH", d.len,
           d.access == MPSPROT_ACCESS_READ ? "R" : "W", d.size, mn, reg, base, index,
           d.index == STEP_REG_NONE ? 1 : d.scale, disp, ea);
}

static void arm_reg(char *out, size_t n, const struct step_insn *d, int r) {
  if (d->op == STEP_OP_LOAD_V || d->op == STEP_OP_STORE_V) {
    static const char letter[5] = {'b', 'h', 's', 'd', 'q'};
    snprintf(out, n, "%c%d", letter[d->esize], r);
    return;
  }
  int x = d->op == STEP_OP_LOAD ? d->dwidth == 8
          : d->op == STEP_OP_RMW ? d->dwidth == 8
                                 : d->elem == 8;
  if (r == 31)
    snprintf(out, n, "%s", x ? "xzr" : "wzr");
  else
    snprintf(out, n, "%c%d", x ? 'x' : 'w', r);
}

static void arm(const struct mpsprot_context *ctx, char *out, size_t n) {
  struct step_insn d;
  if (!step_aarch64_decode(ctx, &d)) {
    snprintf(out, n, "REFUSE");
    return;
  }
  char regs[64], a[16], b[16];
  arm_reg(a, sizeof a, &d, d.rt);
  if (d.op == STEP_OP_RMW && d.alu == STEP_ALU_A64_CASP) { /* Rs, Rs+1, Rt, Rt+1 */
    char c[16], e[16];
    arm_reg(b, sizeof b, &d, d.src);
    arm_reg(c, sizeof c, &d, d.src + 1);
    arm_reg(e, sizeof e, &d, d.rt + 1);
    snprintf(regs, sizeof regs, "%s,%s,%s,%s", b, c, a, e);
  } else if (d.op == STEP_OP_RMW) { /* Rs, Rt */
    arm_reg(b, sizeof b, &d, d.src);
    snprintf(regs, sizeof regs, "%s,%s", b, a);
  } else if (d.nregs == 2) {
    arm_reg(b, sizeof b, &d, d.rt2);
    snprintf(regs, sizeof regs, "%s,%s", a, b);
  } else {
    snprintf(regs, sizeof regs, "%s", a);
  }
  char base[8], index[8];
  if (d.base == 31)
    snprintf(base, sizeof base, "sp");
  else
    snprintf(base, sizeof base, "x%d", d.base);
  const char *ext = "none";
  if (d.index == STEP_REG_NONE) {
    snprintf(index, sizeof index, "none");
  } else {
    int w = d.ext == STEP_EXT_UXTW || d.ext == STEP_EXT_SXTW;
    if (d.index == 31)
      snprintf(index, sizeof index, "%s", w ? "wzr" : "xzr");
    else
      snprintf(index, sizeof index, "%c%d", w ? 'w' : 'x', d.index);
    ext = d.ext == STEP_EXT_UXTW ? "uxtw" : d.ext == STEP_EXT_SXTW ? "sxtw"
          : d.ext == STEP_EXT_SXTX ? "sxtx" : "lsl";
  }
  /* ea from the printed fields */
  uint64_t off = (uint64_t)d.disp;
  if (d.index != STEP_REG_NONE) {
    uint64_t x = d.index == 31 ? 0 : synthetic(d.index);
    if (d.ext == STEP_EXT_UXTW)
      x &= 0xFFFFFFFFu;
    else if (d.ext == STEP_EXT_SXTW)
      x = (uint64_t)(int64_t)(int32_t)(uint32_t)x;
    off = x << d.scale;
  }
  uint64_t want = synthetic(d.base) + (d.wb == STEP_WB_POST ? 0 : off);
  snprintf(out, n, "%s kind=%s size=%d regs=%s mem=base=%s,index=%s,ext=%s,shift=%d,disp=%" PRId64
                   ",wb=%s",
           want == d.ea ? "ACCEPT" : "EAMISMATCH", d.access == MPSPROT_ACCESS_READ ? "R" : "W",
           d.size, regs, base, index, ext, d.index == STEP_REG_NONE ? 0 : d.scale,
           d.index == STEP_REG_NONE ? d.disp : 0,
           d.wb == STEP_WB_PRE ? "pre" : d.wb == STEP_WB_POST ? "post" : "none");
  if (d.op == STEP_OP_RMW || d.order != 0) { /* the atomic operation and its ordering */
    static const char *const names[] = {"add", "clr", "eor", "set", "smax", "smin", "umax",
                                        "umin", "swp", "cas", "casp"};
    size_t len = strlen(out);
    snprintf(out + len, n - len, " op=%s ord=%s",
             d.op == STEP_OP_RMW ? names[d.alu - STEP_ALU_A64_ADD] : "-",
             d.order == (STEP_ORD_ACQ | STEP_ORD_REL) ? "al"
             : d.order == STEP_ORD_ACQ                ? "a"
             : d.order == STEP_ORD_REL                ? "l"
                                                      : "-");
  }
}

int main(void) {
  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = 0;
    char *rest = strchr(line, '\t');
    if (rest)
      *rest++ = 0;
    char arch[32], hex[128];
    uint64_t addr;
    if (sscanf(line, "%31s %" SCNx64 " %127s", arch, &addr, hex) != 3) {
      printf("BADINPUT\t-\t%s\n", rest ? rest : "");
      continue;
    }
    struct mpsprot_context ctx;
    memset(&ctx, 0, sizeof ctx);
    fill_regs(&ctx);
    ctx.pc = addr;
    char out[512], kind[4] = "-";
    if (strcmp(arch, "aarch64") == 0) {
      uint32_t w = (uint32_t)strtoul(hex, NULL, 16);
      step_le_put(ctx.insn, 4, w);
      ctx.insn_len = 4;
      ctx.arch = MPSPROT_ARCH_AARCH64;
      arm(&ctx, out, sizeof out);
      int k = step_aarch64_access_kind(w);
      snprintf(kind, sizeof kind, "%s", k == MPSPROT_ACCESS_READ ? "R" : k == MPSPROT_ACCESS_WRITE ? "W" : "0");
    } else {
      int nb = 0;
      for (const char *p = hex; p[0] && p[1] && nb < 16; p += 2) {
        unsigned v;
        if (sscanf(p, "%2x", &v) != 1)
          break;
        ctx.insn[nb++] = (uint8_t)v;
      }
      ctx.insn_len = nb;
      ctx.arch = MPSPROT_ARCH_X86_64;
      x86(&ctx, out, sizeof out);
    }
    printf("%s\t%s\t%s\n", out, kind, rest ? rest : "");
  }
  return 0;
}
