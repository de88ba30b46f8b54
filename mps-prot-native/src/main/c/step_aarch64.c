/* step_aarch64.c -- decoder and register semantics of the aarch64 loads and stores the
 * shim steps, and the access kind of a load/store instruction (for faults delivered
 * without an ESR record, as under qemu-user)
 *
 * What is stepped (encodings from the Arm ARM, "Loads and Stores"):
 *   LDR/STR (X, W), LDRB/STRB, LDRH/STRH, LDRSB/LDRSH (to W and X), LDRSW, and the SIMD&FP
 *   LDR/STR of B/H/S/D/Q registers, in the forms
 *     unsigned immediate (imm12 scaled by the size), unscaled immediate (LDUR/STUR...),
 *     pre-index and post-index (imm9, writeback), register offset (Rm extended by UXTW,
 *     LSL/UXTX, SXTW, SXTX, optionally shifted by log2 of the size);
 *   LDP/STP (W, X, S, D, Q) and LDPSW: signed offset, pre-index, post-index, and the
 *     non-temporal LDNP/STNP (a hint only: stepped like the signed-offset form);
 *   the ordered LDAR, STLR, LDLAR, STLLR, LDAPR and the RCpc LDAPUR*, STLUR* (B, H, W, X),
 *   the LSE atomics CAS, CASP, LDADD, LDCLR, LDEOR, LDSET, LDSMAX, LDSMIN, LDUMAX, LDUMIN,
 *   SWP (B, H, W, X; every ordering; ST<op> aliases), performed by step.c as one atomic
 *   operation on the alias with full barriers around it (ordered_decode, atomic_decode);
 *   SIMD&FP registers v0..v31 (v16..v31 from ctx->vext: d->upper).
 * Register 31 is SP as a base and XZR/WZR as a data register; W destinations are
 * zero-extended to 64 bits; loads into a SIMD&FP register zero the rest of its 128 bits;
 * writeback updates the base; pc advances by 4.  regs[31] is SP; a writeback to SP also
 * updates ctx->sp so that the two copies agree.
 *
 * What is refused: exclusives (LDXR, STXR, LDAXR, STLXR, LDXP, STXP: see ordered_decode),
 * LD64B/ST64B*, prefetches (PRFM, PRFUM), unprivileged
 * LDTR/STTR, load-literal, structure loads (LD1..LD4), pointer-authenticated LDRAA/LDRAB,
 * STGP and the MTE tag instructions, the encodings the Arm ARM makes
 * CONSTRAINED UNPREDICTABLE (writeback with Rn == Rt, Rn == Rt2; LDP with Rt == Rt2), and
 * every other encoding.
 *
 * Assumes: little-endian data (the Linux aarch64 ABI); the instruction word is
 * ctx->insn[0..3] in memory order (little-endian); ctx->insn_len >= 4.
 */
#include "step.h"
#include "step_internal.h"

#include <string.h>

#define BITS(x, hi, lo) (((x) >> (lo)) & ((1u << ((hi) - (lo) + 1)) - 1))

/* Single-register classes: decode size/V/opc into the transfer.  0 if unallocated or
 * refused (prefetch). */
static int single_kind(uint32_t i, struct step_insn *d) {
  unsigned size = BITS(i, 31, 30), v = BITS(i, 26, 26), opc = BITS(i, 23, 22);
  d->nregs = 1;
  if (v) {
    if (size == 0 && opc >= 2) { /* Q */
      d->esize = 4;
      d->op = opc == 3 ? STEP_OP_LOAD_V : STEP_OP_STORE_V;
    } else if (opc < 2) {
      d->esize = (int)size;
      d->op = opc == 1 ? STEP_OP_LOAD_V : STEP_OP_STORE_V;
    } else {
      return 0;
    }
    d->elem = 1 << d->esize;
    return 1;
  }
  d->esize = (int)size;
  d->elem = 1 << size;
  switch (opc) {
  case 0: /* STR, STRB, STRH */
    d->op = STEP_OP_STORE;
    return 1;
  case 1: /* LDR, LDRB, LDRH */
    d->op = STEP_OP_LOAD;
    d->dwidth = size == 3 ? 8 : 4;
    return 1;
  case 2: /* LDRSB, LDRSH, LDRSW to X; size 3 is PRFM */
    if (size == 3)
      return 0;
    d->op = STEP_OP_LOAD;
    d->dwidth = 8;
    d->sext = 1;
    return 1;
  default: /* LDRSB, LDRSH to W */
    if (size >= 2)
      return 0;
    d->op = STEP_OP_LOAD;
    d->dwidth = 4;
    d->sext = 1;
    return 1;
  }
}

/* Pair class: opc/V/L into the transfer; mode 0 is the non-temporal form.  0 if
 * unallocated or refused (STGP). */
static int pair_kind(uint32_t i, struct step_insn *d) {
  unsigned opc = BITS(i, 31, 30), v = BITS(i, 26, 26), mode = BITS(i, 25, 23),
           l = BITS(i, 22, 22);
  d->nregs = 2;
  if (mode > 3 || opc == 3)
    return 0;
  if (v) {
    d->esize = 2 + (int)opc; /* S, D, Q */
    d->op = l ? STEP_OP_LOAD_V : STEP_OP_STORE_V;
  } else if (opc == 1) {
    if (!l || mode == 0)
      return 0; /* STGP; LDNP has no signed form */
    d->esize = 2; /* LDPSW */
    d->op = STEP_OP_LOAD;
    d->dwidth = 8;
    d->sext = 1;
  } else {
    d->esize = opc == 0 ? 2 : 3;
    d->op = l ? STEP_OP_LOAD : STEP_OP_STORE;
    d->dwidth = opc == 0 ? 4 : 8;
  }
  d->elem = 1 << d->esize;
  return 1;
}

static uint64_t gpr(const struct mpsprot_context *ctx, int r) {
  return r == 31 ? 0 : ctx->regs[r]; /* as a data or index register, 31 is XZR */
}

/* Load/store exclusive, ordered, compare-and-swap (size 001000 o2 L o1 Rs o0 Rt2 Rn Rt):
 *   o2 1 o1 0: LDAR, LDLAR (L 1), STLR, STLLR (L 0) of B, H, W, X; Rs and Rt2 11111;
 *   o2 1 o1 1: CAS{B,H,,}{,A,L,AL}: Rt2 11111, L = acquire, o0 = release; Rs is compared
 *     and receives the old value, Rt is stored;
 *   o2 0 o1 1, size 0x: CASP{,A,L,AL} of W or X pairs: Rs, Rt even, Rt2 11111.
 * Exclusives (o2 0 o1 0: LDXR, STXR, LDAXR, STLXR; o2 0 o1 1 size 1x: LDXP, STXP) are
 * refused: an emulated LDXR cannot set the CPU's exclusive monitor, and an emulated STXR
 * can neither tell whether the monitor would have held (a compare-and-swap against the
 * loaded value succeeds after an ABA store that the monitor would have seen) nor always
 * fail (the retry loop would fault and fail forever); the fallback opens the page, after
 * which the pair runs natively. */
static int ordered_decode(uint32_t i, struct step_insn *d) {
  unsigned size = BITS(i, 31, 30), o2 = BITS(i, 23, 23), l = BITS(i, 22, 22),
           o1 = BITS(i, 21, 21), rs = BITS(i, 20, 16), o0 = BITS(i, 15, 15),
           rt2 = BITS(i, 14, 10), rt = BITS(i, 4, 0);
  d->nregs = 1;
  d->esize = (int)size;
  d->elem = 1 << size;
  d->dwidth = size == 3 ? 8 : 4;
  d->lock = 1; /* aligned only: an unaligned one raises an alignment fault, not ours */
  if (rt2 != 31)
    return 0;
  if (o2 && !o1) {
    if (rs != 31)
      return 0;
    d->op = l ? STEP_OP_LOAD : STEP_OP_STORE;
    d->order = l ? STEP_ORD_ACQ : STEP_ORD_REL;
    return 1;
  }
  d->order = (l ? STEP_ORD_ACQ : 0) | (o0 ? STEP_ORD_REL : 0);
  d->op = STEP_OP_RMW;
  d->src = (int)rs;
  if (o2 && o1) {
    d->alu = STEP_ALU_A64_CAS;
    return 1;
  }
  if (!o2 && o1 && size < 2) {
    if ((rs & 1) || (rt & 1))
      return 0;
    d->alu = STEP_ALU_A64_CASP;
    d->esize = size ? 3 : 2; /* of one register */
    d->dwidth = size ? 8 : 4;
    d->elem = 2 << d->esize;
    return 1;
  }
  return 0; /* exclusives (see above) */
}

/* Atomic memory operations (size 111 0 00 A R 1 Rs o3 opc 00 Rn Rt): LDADD, LDCLR, LDEOR,
 * LDSET, LDSMAX, LDSMIN, LDUMAX, LDUMIN (o3 0, opc 0..7) and SWP (o3 1, opc 000), with
 * A = acquire, R = release: Rt <- the old value (zero-extended), memory <- op(old, Rs);
 * the ST<op> aliases are Rt = XZR.  LDAPR{B,H,,} (o3 1, opc 100, A 1, R 0, Rs 11111):
 * an acquire load.  LD64B/ST64B* and the rest: refused. */
static int atomic_decode(uint32_t i, struct step_insn *d) {
  unsigned size = BITS(i, 31, 30), a = BITS(i, 23, 23), r = BITS(i, 22, 22),
           rs = BITS(i, 20, 16), o3 = BITS(i, 15, 15), opc = BITS(i, 14, 12);
  d->nregs = 1;
  d->esize = (int)size;
  d->elem = 1 << size;
  d->dwidth = size == 3 ? 8 : 4;
  d->lock = 1;
  if (o3 && opc == 4) { /* LDAPR */
    if (!a || r || rs != 31)
      return 0;
    d->op = STEP_OP_LOAD;
    d->order = STEP_ORD_ACQ;
    return 1;
  }
  if (o3 && opc != 0)
    return 0;
  static const int ops[8] = {STEP_ALU_A64_ADD,  STEP_ALU_A64_CLR,  STEP_ALU_A64_EOR,
                             STEP_ALU_A64_SET,  STEP_ALU_A64_SMAX, STEP_ALU_A64_SMIN,
                             STEP_ALU_A64_UMAX, STEP_ALU_A64_UMIN};
  d->op = STEP_OP_RMW;
  d->alu = o3 ? STEP_ALU_A64_SWP : ops[opc];
  d->src = (int)rs;
  d->order = (a ? STEP_ORD_ACQ : 0) | (r ? STEP_ORD_REL : 0);
  return 1;
}

int step_aarch64_decode(const struct mpsprot_context *ctx, struct step_insn *d) {
  memset(d, 0, sizeof *d);
  if (ctx->insn_len < 4)
    return 0;
  uint32_t i = (uint32_t)ctx->insn[0] | (uint32_t)ctx->insn[1] << 8
               | (uint32_t)ctx->insn[2] << 16 | (uint32_t)ctx->insn[3] << 24;
  d->len = 4;
  d->opcode = i;
  d->rt = (int)BITS(i, 4, 0);
  d->base = (int)BITS(i, 9, 5);
  d->index = STEP_REG_NONE;

  if ((i & 0x3B000000u) == 0x39000000u) { /* unsigned immediate */
    if (!single_kind(i, d))
      return 0;
    d->disp = (int64_t)((uint64_t)BITS(i, 21, 10) << d->esize);
  } else if ((i & 0x3B200000u) == 0x38000000u) { /* imm9: unscaled, post, unpriv, pre */
    unsigned form = BITS(i, 11, 10);
    if (form == 2 || !single_kind(i, d))
      return 0; /* LDTR/STTR */
    d->disp = (int64_t)step_sext(BITS(i, 20, 12), 9);
    d->wb = form == 1 ? STEP_WB_POST : form == 3 ? STEP_WB_PRE : STEP_WB_NONE;
  } else if ((i & 0x3B200C00u) == 0x38200800u) { /* register offset */
    unsigned option = BITS(i, 15, 13);
    if ((option & 2) == 0 || !single_kind(i, d))
      return 0;
    d->index = (int)BITS(i, 20, 16);
    d->ext = (int)option;
    d->scale = BITS(i, 12, 12) ? d->esize : 0;
  } else if ((i & 0x3F000000u) == 0x08000000u) { /* ordered, CAS, CASP (exclusives refused) */
    if (!ordered_decode(i, d))
      return 0;
  } else if ((i & 0x3F200C00u) == 0x38200000u) { /* atomic memory operations, LDAPR */
    if (!atomic_decode(i, d))
      return 0;
  } else if ((i & 0x3F200C00u) == 0x19000000u) { /* RCpc unscaled: STLUR, LDAPUR... */
    unsigned size = BITS(i, 31, 30), opc = BITS(i, 23, 22);
    if ((size == 3 && opc >= 2) || (size == 2 && opc == 3))
      return 0; /* unallocated */
    uint32_t as_ldur = (i & 0xC0C00000u) | 0x38000000u; /* LDUR/STUR with the same size/opc */
    if (!single_kind(as_ldur, d))
      return 0;
    d->disp = (int64_t)step_sext(BITS(i, 20, 12), 9);
    d->order = opc == 0 ? STEP_ORD_REL : STEP_ORD_ACQ;
    d->lock = 1; /* RCpc accesses are single-copy atomic only when aligned: refused else */
  } else if ((i & 0x38000000u) == 0x28000000u) { /* pair */
    if (!pair_kind(i, d))
      return 0;
    unsigned mode = BITS(i, 25, 23);
    d->rt2 = (int)BITS(i, 14, 10);
    d->disp = (int64_t)(step_sext(BITS(i, 21, 15), 7) << d->esize);
    d->wb = mode == 1 ? STEP_WB_POST : mode == 3 ? STEP_WB_PRE : STEP_WB_NONE;
  } else {
    return 0;
  }

  int vec = d->op == STEP_OP_LOAD_V || d->op == STEP_OP_STORE_V;
  d->access = (d->op == STEP_OP_LOAD || d->op == STEP_OP_LOAD_V) ? MPSPROT_ACCESS_READ
                                                                   : MPSPROT_ACCESS_WRITE;
  d->size = d->elem * d->nregs;
  if (vec && (d->rt >= 16 || (d->nregs == 2 && d->rt2 >= 16)))
    d->upper = 1; /* v16..v31 are in ctx->vext */
  /* CONSTRAINED UNPREDICTABLE encodings. */
  if (d->nregs == 2 && d->access == MPSPROT_ACCESS_READ && d->rt == d->rt2)
    return 0;
  if (d->wb != STEP_WB_NONE && !vec && d->base != 31
      && (d->base == d->rt || (d->nregs == 2 && d->base == d->rt2)))
    return 0;

  uint64_t base = ctx->regs[d->base]; /* 31 is SP: regs[31] */
  uint64_t offset = (uint64_t)d->disp;
  if (d->index != STEP_REG_NONE) {
    uint64_t x = gpr(ctx, d->index);
    switch (d->ext) {
    case STEP_EXT_UXTW:
      x &= 0xFFFFFFFFu;
      break;
    case STEP_EXT_SXTW:
      x = step_sext(x, 32);
      break;
    default: /* LSL (UXTX), SXTX: the whole register */
      break;
    }
    offset = x << d->scale;
  }
  d->ea = d->wb == STEP_WB_POST ? base : base + offset;
  d->wb_value = base + offset;
  return 1;
}

void step_aarch64_store_data(const struct mpsprot_context *ctx, const struct step_insn *d,
                             uint8_t *data) {
  int regs[2] = {d->rt, d->rt2};
  for (int k = 0; k < d->nregs; k++) {
    if (d->op == STEP_OP_STORE_V)
      memcpy(data + k * d->elem, step_vreg_c(ctx, regs[k]), (size_t)d->elem);
    else
      step_le_put(data + k * d->elem, d->elem, gpr(ctx, regs[k]));
  }
}

void step_aarch64_load(struct mpsprot_context *ctx, const struct step_insn *d,
                       const uint8_t *data) {
  int regs[2] = {d->rt, d->rt2};
  for (int k = 0; k < d->nregs; k++) {
    const uint8_t *p = data + k * d->elem;
    if (d->op == STEP_OP_LOAD_V) {
      uint8_t *v = step_vreg(ctx, regs[k]);
      memset(v, 0, 16);
      memcpy(v, p, (size_t)d->elem);
      continue;
    }
    uint64_t v = step_le_get(p, d->elem);
    if (d->sext)
      v = step_sext(v, 8 * d->elem);
    if (d->dwidth == 4)
      v &= 0xFFFFFFFFu; /* W destinations zero-extend */
    if (regs[k] != 31)  /* XZR: the value is discarded */
      ctx->regs[regs[k]] = v;
  }
}

void step_aarch64_finish(struct mpsprot_context *ctx, const struct step_insn *d) {
  if (d->wb != STEP_WB_NONE) {
    ctx->regs[d->base] = d->wb_value;
    if (d->base == 31)
      ctx->sp = d->wb_value;
  }
  ctx->pc += 4;
}

/* The SIMD structure loads and stores (LD1..LD4, ST1..ST4, LD1R..LD4R) that are
 * allocated: the multiple-structure opcodes 0000 0010 0100 0110 0111 1000 1010 (the
 * multi-register ones with .1D, size 11 and Q 0, reserved), the single-structure opcodes
 * with their size/S constraints, the replicating ones only as loads; the forms without
 * offset have bits 20..16 zero (and bit 21 too, for the multiple forms). */
static int simd_structure_allocated(uint32_t i) {
  unsigned q = BITS(i, 30, 30), single = BITS(i, 24, 24), post = BITS(i, 23, 23),
           l = BITS(i, 22, 22), size = BITS(i, 11, 10);
  if (!post && BITS(i, 20, 16) != 0)
    return 0;
  if (!single) {
    if (BITS(i, 21, 21))
      return 0;
    unsigned op = BITS(i, 15, 12);
    switch (op) {
    case 0x0: /* LD4/ST4 */
    case 0x4: /* LD3/ST3 */
    case 0x8: /* LD2/ST2 */
      return !(size == 3 && q == 0);
    case 0x2: /* LD1/ST1, 4, 3, 1, 2 registers */
    case 0x6:
    case 0x7:
    case 0xA:
      return 1;
    default:
      return 0;
    }
  }
  unsigned op = BITS(i, 15, 13), s = BITS(i, 12, 12);
  switch (op) {
  case 0: /* 8-bit lanes */
  case 1:
    return 1;
  case 2: /* 16-bit lanes: size<0> is 0 */
  case 3:
    return (size & 1) == 0;
  case 4: /* 32-bit lanes (size 00), 64-bit (size 01, S 0) */
  case 5:
    return size == 0 || (size == 1 && s == 0);
  default: /* LD1R..LD4R: loads only, S 0 */
    return l && s == 0;
  }
}

/* Atomic memory operations (size 111 0 00 A R 1 Rs o3 opc 00 Rn Rt, V 0):
 * LDADD/LDCLR/LDEOR/LDSET/LDSMAX/LDSMIN/LDUMAX/LDUMIN (o3 0) and SWP (o3 1, opc 000)
 * read and write; LDAPR{B,H} (o3 1, opc 100, A 1, R 0, Rs 11111) and LD64B (size 11,
 * o3 1, opc 101, A R 0, Rs 11111) read; ST64B (opc 001), ST64BV0 (010), ST64BV (011),
 * size 11 and A R 0 (ST64B: Rs 11111) write; everything else in the class is
 * unallocated here: 0. */
static int atomic_kind(uint32_t i) {
  const int R = MPSPROT_ACCESS_READ, W = MPSPROT_ACCESS_WRITE;
  unsigned size = BITS(i, 31, 30), a = BITS(i, 23, 23), r = BITS(i, 22, 22),
           rs = BITS(i, 20, 16), o3 = BITS(i, 15, 15), opc = BITS(i, 14, 12);
  if (!o3 || opc == 0)
    return W;
  switch (opc) {
  case 4: /* LDAPR */
    return (a && !r && rs == 31) ? R : 0;
  case 5: /* LD64B */
    return (size == 3 && !a && !r && rs == 31) ? R : 0;
  case 1: /* ST64B */
    return (size == 3 && !a && !r && rs == 31) ? W : 0;
  case 2: /* ST64BV0 */
  case 3: /* ST64BV */
    return (size == 3 && !a && !r) ? W : 0;
  default:
    return 0;
  }
}

/* Load/store exclusive, ordered, compare-and-swap (size 001000 o2 L o1 Rs o0 Rt2 Rn Rt):
 *   o2 0 o1 0: STXR/STLXR, LDXR/LDAXR;  o2 0 o1 1, size 1x: STXP/STLXP, LDXP/LDAXP;
 *   o2 1 o1 0: STLLR/STLR, LDLAR/LDAR;  these read (L 1) or write (L 0) whatever their
 *   (1) fields hold (CONSTRAINED UNPREDICTABLE, executed as the instruction by the cores
 *   and disassemblers we know), except LDAR with Rs or Rt2 not 11111, which binutils leaves
 *   undefined (a newer instruction may live there): 0;
 *   o2 0 o1 1, size 0x: CASP{A,L,AL}: Rt2 11111, Rs and Rt even, else 0;
 *   o2 1 o1 1: CAS{B,H}{A,L,AL}: Rt2 11111, else 0. */
static int exclusive_kind(uint32_t i) {
  const int R = MPSPROT_ACCESS_READ, W = MPSPROT_ACCESS_WRITE;
  unsigned size = BITS(i, 31, 30), o2 = BITS(i, 23, 23), l = BITS(i, 22, 22),
           o1 = BITS(i, 21, 21), rs = BITS(i, 20, 16), o0 = BITS(i, 15, 15),
           rt2 = BITS(i, 14, 10), rt = BITS(i, 4, 0);
  if (o1 && o2)
    return rt2 == 31 ? W : 0;
  if (o1 && size < 2)
    return (rt2 == 31 && !(rs & 1) && !(rt & 1)) ? W : 0;
  if (o2 && l && o0 && (rs != 31 || rt2 != 31))
    return 0;
  return l ? R : W;
}

/* The access kind of any load/store encoding, wider than what is stepped: a handler
 * without ESR uses it to tell reads from writes.  A store, or any instruction that may
 * write (atomics, CAS, SWP, store-exclusive, DC ZVA), answers WRITE; a pure load READ;
 * prefetches, cache maintenance other than the zeroing ones, SME, FEAT_MOPS and
 * anything not recognised answer 0 (the caller must then assume both).  SVE loads and
 * stores are classified by their encoding group (SVE prefetches answer READ: they never
 * fault). */
int step_aarch64_access_kind(uint32_t i) {
  const int R = MPSPROT_ACCESS_READ, W = MPSPROT_ACCESS_WRITE;
  unsigned l22 = BITS(i, 22, 22);

  /* DC ZVA, DC GVA, DC GZVA: stores of zeroes / tags by VA. */
  uint32_t sys = i & 0xFFFFFFE0u;
  if (sys == 0xD50B7420u || sys == 0xD50B7460u || sys == 0xD50B7480u)
    return W;

  /* SVE memory (top-level op1 = 0010, SVE op0 = bits 31..29): 100 32-bit gathers and
   * unsized contiguous (LDR vector/predicate), 101 contiguous loads, 110 64-bit gathers
   * (their prefetches never fault), 111 contiguous stores and scatters. */
  if ((i & 0x1E000000u) == 0x04000000u && BITS(i, 31, 29) >= 4)
    return BITS(i, 31, 29) == 7 ? W : R;
  /* Load/store exclusive, ordered, compare-and-swap: size 001000 o2 L o1 Rs o0 Rt2 Rn Rt */
  if ((i & 0x3F000000u) == 0x08000000u)
    return exclusive_kind(i);
  /* Load literal: opc 011 V 00 imm19 Rt (opc 11, V 0 is PRFM) */
  if ((i & 0x3B000000u) == 0x18000000u) {
    if (BITS(i, 31, 30) == 3 && BITS(i, 26, 26) == 0)
      return 0;
    if (BITS(i, 31, 30) == 3 && BITS(i, 26, 26) == 1)
      return 0; /* unallocated */
    return R;
  }
  /* MTE tags: 11011001 op1 1 imm9 op2 Rn Rt */
  if ((i & 0xFF200000u) == 0xD9200000u) {
    unsigned op1 = BITS(i, 23, 22), op2 = BITS(i, 11, 10);
    if (op2 == 0 && op1 != 1 && BITS(i, 20, 12) != 0)
      return 0; /* STZGM, STGM, LDGM have imm9 0; the rest is unallocated */
    if (op2 == 0 && (op1 == 1 || op1 == 3))
      return R; /* LDG, LDGM */
    return W;   /* STG, STZG, ST2G, STZ2G, STGM, STZGM */
  }
  /* RCpc unscaled: size 011001 opc 0 imm9 00 Rn Rt (STLUR, LDAPUR, LDAPURS*) */
  if ((i & 0x3F200C00u) == 0x19000000u) {
    unsigned size = BITS(i, 31, 30), opc = BITS(i, 23, 22);
    if ((size == 3 && opc >= 2) || (size == 2 && opc == 3))
      return 0; /* unallocated */
    return opc == 0 ? W : R;
  }
  /* SIMD structures, multiple and single: 0 Q 00110 S P L ... */
  if ((i & 0xBE000000u) == 0x0C000000u)
    return simd_structure_allocated(i) ? (l22 ? R : W) : 0;
  /* Load/store pair (all addressing modes, GPR and SIMD&FP, STGP) */
  if ((i & 0x3A000000u) == 0x28000000u) {
    unsigned opc = BITS(i, 31, 30), v = BITS(i, 26, 26), mode = BITS(i, 24, 23);
    if (opc == 3 || (!v && opc == 1 && mode == 0))
      return 0; /* unallocated (no LDNPSW, no STGP without writeback mode) */
    return l22 ? R : W;
  }
  /* Load/store register: size 111 V 0x opc ... */
  if ((i & 0x3A000000u) == 0x38000000u) {
    unsigned size = BITS(i, 31, 30), v = BITS(i, 26, 26), opc = BITS(i, 23, 22);
    int uimm = BITS(i, 24, 24);
    if (!uimm && BITS(i, 21, 21)) {
      unsigned form = BITS(i, 11, 10);
      if (form == 0) /* atomic memory operations */
        return v ? 0 : atomic_kind(i);
      if (form & 1) /* LDRAA, LDRAB */
        return (size == 3 && !v) ? R : 0;
      /* register offset: option<1> must be 1 (UXTW, LSL, SXTW, SXTX) */
      if (BITS(i, 14, 14) == 0)
        return 0;
    } else if (!uimm && BITS(i, 11, 10) == 2 && v) {
      return 0; /* no unprivileged SIMD&FP loads and stores */
    }
    if (v) {
      if (size != 0 && opc >= 2)
        return 0;
      return (opc & 1) ? R : W;
    }
    if (opc == 0)
      return W;
    if (opc == 1)
      return R;
    if (size == 3)
      return 0; /* PRFM, PRFUM, unallocated */
    if (opc == 3 && size == 2)
      return 0;
    return R;
  }
  return 0;
}

static void a64_out(struct step_rmw *out, int r, uint64_t v) {
  if (r == 31)
    return; /* XZR: discarded */
  out->out_reg[out->nout] = r;
  out->out_val[out->nout++] = v;
}

/* The atomics: from the memory's old value (elem bytes zero-extended; CASP of X pairs:
 * old[0] the first register's, old[1] the second's), the memory's new value and the
 * registers (a W, H or B result is zero-extended into the X register). */
void step_aarch64_rmw(const struct mpsprot_context *ctx, const struct step_insn *d,
                      const uint64_t old[2], struct step_rmw *out) {
  out->nout = 0;
  out->write = 1;
  out->mem_new[1] = 0;
  int bits = 8 * d->elem;
  uint64_t m = bits >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << bits) - 1;
  uint64_t mem = old[0] & m, s = gpr(ctx, d->src) & m, r = 0;
  if (d->alu == STEP_ALU_A64_CASP) {
    int rbits = 8 << d->esize;
    uint64_t rm = rbits >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << rbits) - 1;
    uint64_t s0 = gpr(ctx, d->src) & rm, s1 = gpr(ctx, d->src + 1) & rm;
    uint64_t t0 = gpr(ctx, d->rt) & rm, t1 = gpr(ctx, d->rt + 1) & rm;
    uint64_t o0, o1;
    if (rbits == 64) {
      o0 = old[0];
      o1 = old[1];
      out->write = o0 == s0 && o1 == s1;
      out->mem_new[0] = t0;
      out->mem_new[1] = t1;
    } else {
      o0 = old[0] & rm;
      o1 = (old[0] >> 32) & rm;
      out->write = o0 == s0 && o1 == s1;
      out->mem_new[0] = t0 | t1 << 32;
    }
    if (!out->write)
      out->mem_new[0] = old[0], out->mem_new[1] = old[1];
    a64_out(out, d->src, o0);
    a64_out(out, d->src + 1, o1);
    return;
  }
  switch (d->alu) {
  case STEP_ALU_A64_ADD:
    r = mem + s;
    break;
  case STEP_ALU_A64_CLR:
    r = mem & ~s;
    break;
  case STEP_ALU_A64_EOR:
    r = mem ^ s;
    break;
  case STEP_ALU_A64_SET:
    r = mem | s;
    break;
  case STEP_ALU_A64_SMAX:
    r = (int64_t)step_sext(mem, bits) > (int64_t)step_sext(s, bits) ? mem : s;
    break;
  case STEP_ALU_A64_SMIN:
    r = (int64_t)step_sext(mem, bits) < (int64_t)step_sext(s, bits) ? mem : s;
    break;
  case STEP_ALU_A64_UMAX:
    r = mem > s ? mem : s;
    break;
  case STEP_ALU_A64_UMIN:
    r = mem < s ? mem : s;
    break;
  case STEP_ALU_A64_SWP:
    r = s;
    break;
  case STEP_ALU_A64_CAS: /* Rs is the comparand; Rt the new value */
    r = gpr(ctx, d->rt) & m;
    out->write = mem == s;
    if (!out->write)
      r = mem;
    a64_out(out, d->src, mem);
    out->mem_new[0] = r;
    return;
  default:
    out->write = 0;
    return;
  }
  out->mem_new[0] = r & m;
  a64_out(out, d->rt, mem);
}
