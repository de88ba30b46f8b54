/* step_internal.h -- the decoded instruction shared by step.c and the decoders
 *
 * Not part of the API (nothing here is exported).  A decoder turns the bytes of a
 * struct mpsprot_context into a struct step_insn: what the instruction transfers, between
 * which registers and which memory, and the effective address computed from the
 * context's registers.  step.c owns everything that touches memory (the region check,
 * the alias translation, the loads and stores); the decoders own the register semantics
 * of their architecture (step_<arch>_load, _store_data, _finish).
 *
 * Assumes: the decoders are pure functions of the context (no ucontext, no inline asm),
 * so that both architectures build and are tested on every host; they read at most
 * min(ctx->insn_len, 15) bytes (x86-64) or 4 bytes (aarch64) of ctx->insn.  All code
 * behind this header is async-signal-safe: no allocation, no locks, no stdio.
 */
#ifndef MPSPROT_STEP_INTERNAL_H
#define MPSPROT_STEP_INTERNAL_H

#include "mpsprot.h"

#include <stdint.h>

/* What the instruction does. */
enum step_op {
  STEP_OP_LOAD = 1,  /* general register(s) <- memory */
  STEP_OP_STORE,     /* memory <- general register(s) */
  STEP_OP_STORE_IMM, /* memory <- immediate (x86-64 C6/C7) */
  STEP_OP_LOAD_V,    /* vector register(s) <- memory; the rest of each register is zeroed */
  STEP_OP_STORE_V,   /* memory <- vector register(s) */
  STEP_OP_ALU_LOAD,  /* registers and flags <- f(registers, memory); memory is only read
                      * (x86-64: CMP, TEST, and ADD..XOR with a register destination) */
  STEP_OP_RMW,       /* memory <- f(memory, registers); registers and flags <- g(...):
                      * one atomic step where the access is aligned (step.c) */
  STEP_OP_PUSH,      /* x86-64 PUSH m64: [rsp - 8] <- memory, rsp -= 8 */
  STEP_OP_POP,       /* x86-64 POP m64: memory <- [rsp], rsp += 8 (ea computed after) */
  STEP_OP_FP,        /* x86-64 scalar SSE/VEX arithmetic with a memory source (d->fp):
                      * registers (and MXCSR, rflags) <- f(registers, memory) */
  STEP_OP_STRING     /* x86-64 SCAS, LODS, STOS (d->str), with or without REP (d->rep):
                      * one iteration; an unfinished REP resumes at the instruction */
};

/* x86-64 scalar floating-point operations of STEP_OP_FP (d->fp), each executed by the
 * handler on the CPU itself with register operands under the mutator's MXCSR
 * (step_x86_64_fp.c).  SS/SD: single/double; SI32/SI64: the integer source or
 * destination width. */
enum step_fp {
  STEP_FP_NONE,
  STEP_FP_ADDSS, STEP_FP_ADDSD, STEP_FP_MULSS, STEP_FP_MULSD, STEP_FP_SUBSS, STEP_FP_SUBSD,
  STEP_FP_DIVSS, STEP_FP_DIVSD, STEP_FP_MINSS, STEP_FP_MINSD, STEP_FP_MAXSS, STEP_FP_MAXSD,
  STEP_FP_SQRTSS, STEP_FP_SQRTSD,
  STEP_FP_CVTSS2SD, STEP_FP_CVTSD2SS,
  STEP_FP_CVTSI2SS32, STEP_FP_CVTSI2SS64, STEP_FP_CVTSI2SD32, STEP_FP_CVTSI2SD64,
  STEP_FP_UCOMISS, STEP_FP_UCOMISD, STEP_FP_COMISS, STEP_FP_COMISD,
  STEP_FP_CVTTSS2SI32, STEP_FP_CVTTSS2SI64, STEP_FP_CVTTSD2SI32, STEP_FP_CVTTSD2SI64,
  STEP_FP_CVTSS2SI32, STEP_FP_CVTSS2SI64, STEP_FP_CVTSD2SI32, STEP_FP_CVTSD2SI64,
  STEP_FP_COUNT
};

/* MXCSR: the exception mask bits (IM DM ZM OM UM PM) and the sticky flags. */
#define STEP_MXCSR_MASKS 0x1F80u
#define STEP_MXCSR_FLAGS 0x003Fu
/* x86-64: the context's regs[] index of MXCSR (valid with MPSPROT_CTX_MXCSR). */
#define STEP_X86_MXCSR 17

/* x86-64 ALU operations of STEP_OP_ALU_LOAD and STEP_OP_RMW (the first eight in the
 * order of the ModRM reg field of opcodes 80/81/83). */
enum step_alu {
  STEP_ALU_ADD, STEP_ALU_OR, STEP_ALU_ADC, STEP_ALU_SBB, STEP_ALU_AND, STEP_ALU_SUB,
  STEP_ALU_XOR, STEP_ALU_CMP, STEP_ALU_TEST, STEP_ALU_INC, STEP_ALU_DEC, STEP_ALU_NOT,
  STEP_ALU_NEG, STEP_ALU_SHL, STEP_ALU_SHR, STEP_ALU_SAR, STEP_ALU_XCHG, STEP_ALU_XADD,
  STEP_ALU_CMPXCHG,
  /* aarch64 atomics (LDADD ... SWP, CAS) */
  STEP_ALU_A64_ADD, STEP_ALU_A64_CLR, STEP_ALU_A64_EOR, STEP_ALU_A64_SET, STEP_ALU_A64_SMAX,
  STEP_ALU_A64_SMIN, STEP_ALU_A64_UMAX, STEP_ALU_A64_UMIN, STEP_ALU_A64_SWP, STEP_ALU_A64_CAS,
  STEP_ALU_A64_CASP
};

/* Memory ordering of an aarch64 acquire/release access (STEP_ORD_* bits). */
#define STEP_ORD_ACQ 1
#define STEP_ORD_REL 2

/* What an ALU step produces from the memory's old value: the new memory value (when
 * write), and up to three registers with their whole new 64-bit values (x86-64: flags
 * are regs[16]). */
struct step_rmw {
  uint64_t mem_new[2]; /* [1]: the second half of a 16-byte CASP */
  int write;
  int nout;
  int out_reg[3];
  uint64_t out_val[3];
};

/* Pseudo register numbers of the memory operand. */
#define STEP_REG_NONE (-1)
#define STEP_REG_RIP (-2)

/* aarch64 index extends (the option field of the register-offset forms). */
#define STEP_EXT_NONE 0
#define STEP_EXT_UXTW 2
#define STEP_EXT_LSL 3 /* UXTX */
#define STEP_EXT_SXTW 6
#define STEP_EXT_SXTX 7

/* aarch64 writeback. */
#define STEP_WB_NONE 0
#define STEP_WB_PRE 1
#define STEP_WB_POST 2

/* The largest access: an x86-64 EVEX move of a ZMM register (aarch64: LDP/STP of two Q
 * registers, 32). */
#define STEP_MAX_SIZE 64

struct step_insn {
  int len;      /* bytes of the instruction (x86-64: 1..15; aarch64: 4) */
  uint32_t opcode; /* x86-64: the opcode byte, 0x0Fxx for two-byte opcodes; aarch64: the word */
  int op;       /* enum step_op */
  int access;   /* MPSPROT_ACCESS_READ or MPSPROT_ACCESS_WRITE */
  int size;     /* bytes accessed in total: elem * nregs */
  int elem;     /* bytes per register transferred */
  int nregs;    /* 1, or 2 for LDP/STP */
  int rt, rt2;  /* data registers (aarch64: 31 is XZR/WZR) */
  int dwidth;   /* loads into general registers: width of the destination in bytes */
  int sext;     /* loads: sign-extend elem bytes (else zero-extend) to dwidth */
  int high8;    /* x86-64: the byte register is AH, CH, DH or BH (bits 8..15 of rt) */
  uint64_t imm; /* STEP_OP_STORE_IMM: the value, already extended to 64 bits */
  /* The memory operand, as encoded (for the difftest and for the record). */
  int base;     /* register number, STEP_REG_NONE or STEP_REG_RIP */
  int index;    /* register number or STEP_REG_NONE */
  int scale;    /* x86-64: 1, 2, 4, 8; aarch64: the left shift of the index */
  int ext;      /* aarch64: STEP_EXT_* */
  int64_t disp; /* displacement / immediate offset, sign-extended */
  int wb;       /* aarch64: STEP_WB_* */
  int esize;    /* aarch64: log2 of the access size of one register (0..4) */
  int alu;      /* STEP_OP_ALU_LOAD, STEP_OP_RMW: enum step_alu */
  int src;      /* the source register, or STEP_REG_NONE for an immediate (imm) */
  int reg_dest; /* x86-64 ALU_LOAD: the result goes to rt (op r, m), not only flags */
  int lock;     /* the access must be atomic (LOCK, XCHG, aarch64 atomics): refused if
                 * unaligned */
  int order;    /* aarch64: STEP_ORD_* */
  int align;    /* the access must be aligned to its size (x86-64 MOVAPS, MOVAPD,
                 * MOVDQA: the CPU raises #GP otherwise): refused if not */
  int vex;      /* x86-64: VEX-encoded */
  int fp;       /* STEP_OP_FP: enum step_fp; rt is the destination (xmm, or a general
                 * register for the conversions to an integer), src the first source xmm
                 * (VEX vvvv; legacy SSE: rt itself) */
  int upper;    /* reads or writes ctx->vext (x86-64: every VEX load, which zeroes the
                 * register above what it loads, and the 256-bit stores; aarch64: v16..v31):
                 * refused unless ctx->flags has MPSPROT_CTX_VEXT */
  int str;      /* STEP_OP_STRING: 'S' SCAS, 'L' LODS, 'T' STOS */
  int rep;      /* STEP_OP_STRING: 0, 0xF3 (REP/REPE) or 0xF2 (REPNE) */
  int evex;     /* x86-64: EVEX-encoded (AVX-512): reads or writes zmmh, zmmx, kregs;
                 * refused unless ctx->flags has MPSPROT_CTX_AVX512 */
  int disp8n;   /* x86-64 EVEX: a disp8 is scaled by this (compressed displacement) */
  int kreg;     /* x86-64 EVEX: the opmask register (1..7), or 0: no masking */
  int zeroing;  /* x86-64 EVEX load with {z}: masked-off elements are zeroed, not kept */
  int melem;    /* x86-64 EVEX: bytes per masked element (1, 2, 4, 8) */
  /* Computed from the context's registers. */
  uint64_t mask;     /* x86-64 EVEX: bit j set when element j (melem bytes at ea + j *
                      * melem) is accessed: kregs[kreg] limited to the vector's elements,
                      * all of them without masking */
  uint64_t ea;       /* effective address of the first byte accessed */
  uint64_t wb_value; /* the base register's value after writeback */
};

/* Decoders: 1 and *d filled when the instruction is one this module steps (d->ea is
 * computed from ctx's registers and pc), else 0.  They do not look at ctx->address,
 * ctx->slot or ctx->access. */
int step_x86_64_decode(const struct mpsprot_context *ctx, struct step_insn *d);
int step_aarch64_decode(const struct mpsprot_context *ctx, struct step_insn *d);

/* The bytes a store writes (d->size of them, in memory order). */
void step_x86_64_store_data(const struct mpsprot_context *ctx, const struct step_insn *d,
                            uint8_t *data);
void step_aarch64_store_data(const struct mpsprot_context *ctx, const struct step_insn *d,
                             uint8_t *data);

/* Writes the registers a load defines from the bytes it read (d->size of them). */
void step_x86_64_load(struct mpsprot_context *ctx, const struct step_insn *d,
                      const uint8_t *data);
void step_aarch64_load(struct mpsprot_context *ctx, const struct step_insn *d,
                       const uint8_t *data);

/* ALU steps: from the memory's old value (d->elem bytes, zero-extended), what the
 * instruction writes (memory and registers).  Pure: reads ctx, changes nothing. */
void step_x86_64_rmw(const struct mpsprot_context *ctx, const struct step_insn *d,
                     const uint64_t old[2], struct step_rmw *out);
void step_aarch64_rmw(const struct mpsprot_context *ctx, const struct step_insn *d,
                      const uint64_t old[2], struct step_rmw *out);

/* STEP_OP_FP: executes d->fp on the CPU with the registers of ctx and the d->size bytes
 * read from memory, under ctx's MXCSR (regs[STEP_X86_MXCSR], all exceptions masked:
 * step.c checks), and writes the destination register (a VEX form also zeroes bits
 * 128..255 in vext), rflags (COMIS/UCOMIS) and the sticky MXCSR flags the operation
 * raised.  1, or 0 (and nothing changed) when the host cannot execute it (not x86-64).
 * Async-signal-safe: inline instructions only. */
int step_x86_64_fp(struct mpsprot_context *ctx, const struct step_insn *d, const uint8_t *data);
/* 1 if this build can execute STEP_OP_FP (an x86-64 host). */
int step_x86_64_fp_available(void);

/* STEP_OP_STRING: one iteration of SCAS/LODS/STOS after its memory access (data: the
 * element read, SCAS/LODS; or written, STOS): rAX (LODS) or the flags (SCAS: CMP rAX, m),
 * RDI/RSI advanced by the element size (back with DF), RCX decremented under REP.  1 when
 * the instruction is complete (no REP, RCX now 0, or the REPE/REPNE condition ends it),
 * 0 when the mutator must resume at the instruction for the remaining iterations (the
 * architectural state of an interrupted REP string instruction). */
int step_x86_64_string(struct mpsprot_context *ctx, const struct step_insn *d,
                       const uint8_t *data);

/* Applies writeback (aarch64) and advances ctx->pc past the instruction. */
void step_x86_64_finish(struct mpsprot_context *ctx, const struct step_insn *d);
void step_aarch64_finish(struct mpsprot_context *ctx, const struct step_insn *d);

/* The 16 bytes of vector register n of the context: x86-64 xmm n (n < 16) and bits
 * 128..255 of ymm n-16 (16 <= n < 32); aarch64 v n. */
static inline uint8_t *step_vreg(struct mpsprot_context *ctx, int n) {
  return n < 16 ? ctx->vregs[n] : ctx->vext[n - 16];
}
static inline const uint8_t *step_vreg_c(const struct mpsprot_context *ctx, int n) {
  return n < 16 ? ctx->vregs[n] : ctx->vext[n - 16];
}

/* x86-64: the 64 bytes of zmm n (0..31) of the context, from vregs (bits 0..127), vext
 * (128..255), zmmh (256..511; zmm0..15) and zmmx (zmm16..31), and back. */
static inline void step_zmm_get(const struct mpsprot_context *ctx, int n, uint8_t out[64]) {
  if (n < 16) {
    for (int i = 0; i < 16; i++) {
      out[i] = ctx->vregs[n][i];
      out[16 + i] = ctx->vext[n][i];
    }
    for (int i = 0; i < 32; i++)
      out[32 + i] = ctx->zmmh[n][i];
  } else {
    for (int i = 0; i < 64; i++)
      out[i] = ctx->zmmx[n - 16][i];
  }
}
static inline void step_zmm_put(struct mpsprot_context *ctx, int n, const uint8_t in[64]) {
  if (n < 16) {
    for (int i = 0; i < 16; i++) {
      ctx->vregs[n][i] = in[i];
      ctx->vext[n][i] = in[16 + i];
    }
    for (int i = 0; i < 32; i++)
      ctx->zmmh[n][i] = in[32 + i];
  } else {
    for (int i = 0; i < 64; i++)
      ctx->zmmx[n - 16][i] = in[i];
  }
}

/* Little-endian helpers: registers are numbers, memory and vregs are bytes. */
static inline uint64_t step_le_get(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static inline void step_le_put(uint8_t *p, int n, uint64_t v) {
  for (int i = 0; i < n; i++) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

/* Sign-extends the low `bits` bits of v (1 <= bits <= 64). */
static inline uint64_t step_sext(uint64_t v, int bits) {
  if (bits >= 64)
    return v;
  uint64_t m = (uint64_t)1 << (bits - 1);
  v &= ((uint64_t)1 << bits) - 1;
  return (v ^ m) - m;
}

#endif /* MPSPROT_STEP_INTERNAL_H */
