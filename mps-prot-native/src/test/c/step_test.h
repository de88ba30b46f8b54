/* step_test.h -- the table-driven runner shared by test_step_x86_64.c and
 * test_step_aarch64.c
 *
 * Each case is one hand-assembled instruction with the registers it needs, the memory
 * at its effective address, and what must hold afterwards.  The runner creates a real
 * region (mpsprot_region_create), writes memory through the alias, builds a
 * struct mpsprot_context whose fault address is the effective address, and checks:
 * step_can's answer (also with the instruction cut one byte short, with fault addresses
 * just inside and just outside the access, with another slot, with the other access
 * kind); the decoded length, effective address, size and kind; after step_do, every
 * register (the listed ones take the expected values, all others keep theirs), pc, the
 * STEPPED flag, the sp copy, every byte of the region (only the stored bytes change),
 * and the log entry.  The mutator's view stays read-write: step_do goes through the
 * alias, so protection does not matter to what is tested here.
 *
 * The test binaries link the shim's objects directly (step_* and region_* are hidden in
 * the shared library).
 */
#ifndef MPSPROT_STEP_TEST_H
#define MPSPROT_STEP_TEST_H

#include "check.h"
#include "mpsprot.h"
#include "step.h"
#include "step_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Register ids in the tables: 0..31 general registers, then these. */
#define PC 64
#define VLO(n) (100 + (n)) /* bytes 0..7 of vregs[n] */
#define VHI(n) (200 + (n)) /* bytes 8..15 of vregs[n] */

/* The values every register holds unless a case sets it. */
#define DEF(r) (0xF0E0D0C0B0A09080ull ^ ((uint64_t)(r) * 0x0101010101010101ull))
#define VDEFLO(n) (0x5152535455565758ull + ((uint64_t)(n) << 56))
#define VDEFHI(n) (0x6162636465666768ull + ((uint64_t)(n) << 56))
#define PCDEF 0x0000000000401000ull

enum { ABS = 0, REL = 1, RELDIV = 2 };
struct reg_init {
  int used;
  int reg;
  int kind;   /* ABS: v; REL: region base + v; RELDIV: (region base + v) / div */
  uint64_t v;
  int div;
};
#define X(r, val) {1, (r), ABS, (uint64_t)(val), 1}
#define M(r, off) {1, (r), REL, (uint64_t)(off), 1}
#define MDIV(r, off, k) {1, (r), RELDIV, (uint64_t)(off), (k)}

#define NREG 4
struct step_case {
  const char *name;
  const char *hex;   /* x86-64: the bytes; aarch64: the 32-bit word in hex */
  int accept;
  int len;           /* expected length (accepted cases) */
  int64_t off;       /* expected ea - region base (decode_only: the absolute ea) */
  int access, size;
  uint64_t mem[4];   /* memory at ea before (32 bytes) */
  struct reg_init set[NREG];
  struct reg_init out[NREG]; /* registers that change, with their values after */
  uint64_t mem_after[4];     /* stores: the bytes at ea after (the first size bytes) */
  int decode_only;   /* the ea is not in the region: check decode, and that step_can is 0 */
};

static int64_t test_page;
static size_t region_size;
static int region_slot;
static uint8_t *region_base, *region_alias;

static void region_setup(void) {
  test_page = mpsprot_page_size();
  region_size = (size_t)test_page;
  while (region_size < 0x10000)
    region_size *= 2;
  int64_t out[4];
  int err = mpsprot_region_create((int64_t)region_size, out);
  CHECK(err == 0, "region create: %d", err);
  if (err != 0)
    exit(1);
  region_slot = (int)out[0];
  region_base = (uint8_t *)(uintptr_t)out[1];
  region_alias = (uint8_t *)(uintptr_t)out[2];
}

static uint8_t pattern_byte(size_t i) { return (uint8_t)(i * 31 + 7); }

static void fill_pattern(void) {
  for (size_t i = 0; i < region_size; i++)
    region_alias[i] = pattern_byte(i);
}

static int parse_hex(const char *hex, int arch, uint8_t *out) {
  int n = 0;
  if (arch == MPSPROT_ARCH_AARCH64) {
    unsigned long w = strtoul(hex, NULL, 16);
    for (int i = 0; i < 4; i++)
      out[n++] = (uint8_t)(w >> (8 * i));
    return n;
  }
  const char *p = hex;
  while (*p) {
    if (*p == ' ') {
      p++;
      continue;
    }
    unsigned v;
    if (sscanf(p, "%2x", &v) != 1)
      break;
    out[n++] = (uint8_t)v;
    p += 2;
  }
  return n;
}

static uint64_t init_value(const struct reg_init *ri) {
  uint64_t b = (uint64_t)(uintptr_t)region_base;
  switch (ri->kind) {
  case REL:
    return b + ri->v;
  case RELDIV:
    return (b + ri->v) / (uint64_t)ri->div;
  default:
    return ri->v;
  }
}

static void reg_put(struct mpsprot_context *ctx, int reg, uint64_t v) {
  if (reg == PC)
    ctx->pc = v;
  else if (reg >= 200)
    step_le_put(step_vreg(ctx, reg - 200) + 8, 8, v);
  else if (reg >= 100)
    step_le_put(step_vreg(ctx, reg - 100), 8, v);
  else
    ctx->regs[reg] = v;
}

static uint64_t reg_get(const struct mpsprot_context *ctx, int reg) {
  if (reg == PC)
    return ctx->pc;
  if (reg >= 200)
    return step_le_get(step_vreg_c(ctx, reg - 200) + 8, 8);
  if (reg >= 100)
    return step_le_get(step_vreg_c(ctx, reg - 100), 8);
  return ctx->regs[reg];
}

static int sp_reg(int arch) { return arch == MPSPROT_ARCH_X86_64 ? 4 : 31; }

static void build_ctx(struct mpsprot_context *ctx, int arch, const struct step_case *c,
                      const uint8_t *bytes, int nbytes) {
  memset(ctx, 0, sizeof *ctx);
  ctx->arch = arch;
  for (int r = 0; r < 32; r++)
    ctx->regs[r] = DEF(r);
  if (arch == MPSPROT_ARCH_X86_64)
    ctx->regs[16] = 0x246; /* rflags */
  for (int n = 0; n < 32; n++) { /* 16..31: vext (x86-64: ymm upper halves) */
    step_le_put(step_vreg(ctx, n), 8, VDEFLO(n));
    step_le_put(step_vreg(ctx, n) + 8, 8, VDEFHI(n));
  }
  ctx->pc = PCDEF;
  for (int k = 0; k < NREG; k++)
    if (c->set[k].used)
      reg_put(ctx, c->set[k].reg, init_value(&c->set[k]));
  ctx->sp = ctx->regs[sp_reg(arch)];
  memset(ctx->insn, 0xCC, sizeof ctx->insn); /* what follows the instruction */
  memcpy(ctx->insn, bytes, (size_t)nbytes);
  ctx->insn_len = arch == MPSPROT_ARCH_X86_64 ? 16 : 4;
  ctx->slot = region_slot;
  ctx->access = c->access;
  ctx->tid = 1;
  ctx->flags = MPSPROT_CTX_NATIVE | MPSPROT_CTX_VEXT;
  ctx->address = c->decode_only ? (uint64_t)c->off
                                : (uint64_t)(uintptr_t)region_base + (uint64_t)c->off;
}

static int can_at(const struct mpsprot_context *ctx0, uint64_t address, int slot,
                  int access, int insn_len) {
  struct mpsprot_context ctx = *ctx0;
  ctx.address = address;
  ctx.slot = slot;
  ctx.access = access;
  ctx.insn_len = insn_len;
  return step_can(&ctx);
}

static void run_case(int arch, const struct step_case *c) {
  uint8_t bytes[16];
  int nbytes = parse_hex(c->hex, arch, bytes);
  struct mpsprot_context ctx;
  build_ctx(&ctx, arch, c, bytes, nbytes);
  int (*decode)(const struct mpsprot_context *, struct step_insn *) =
      arch == MPSPROT_ARCH_X86_64 ? step_x86_64_decode : step_aarch64_decode;
  struct step_insn d;
  int dec = decode(&ctx, &d);

  if (!c->accept) {
    CHECK(step_can(&ctx) == 0, "%s: must be refused", c->name);
    CHECK(dec == 0, "%s: the decoder must refuse", c->name);
    struct mpsprot_context before = ctx;
    CHECK(step_do(&ctx, NULL) == ENOSYS, "%s: step_do must answer ENOSYS", c->name);
    CHECK(memcmp(&before, &ctx, sizeof ctx) == 0, "%s: a refused step changed the context",
          c->name);
    return;
  }
  CHECK(dec == 1, "%s: the decoder refuses", c->name);
  if (dec != 1)
    return;
  uint64_t ea = c->decode_only ? (uint64_t)c->off
                               : (uint64_t)(uintptr_t)region_base + (uint64_t)c->off;
  CHECK(d.len == c->len, "%s: length %d, expected %d", c->name, d.len, c->len);
  CHECK(d.ea == ea, "%s: ea %#llx, expected %#llx (off %#llx)", c->name,
        (unsigned long long)d.ea, (unsigned long long)ea,
        (unsigned long long)(d.ea - (uint64_t)(uintptr_t)region_base));
  CHECK(d.access == c->access, "%s: access %d", c->name, d.access);
  CHECK(d.size == c->size, "%s: size %d, expected %d", c->name, d.size, c->size);
  if (arch == MPSPROT_ARCH_AARCH64) {
    uint32_t w = (uint32_t)step_le_get(bytes, 4);
    CHECK(step_aarch64_access_kind(w) == c->access, "%s: access_kind %d", c->name,
          step_aarch64_access_kind(w));
  }
  if (c->decode_only) {
    CHECK(step_can(&ctx) == 0, "%s: ea outside the region must be refused", c->name);
    return;
  }
  if (d.len != c->len || d.ea != ea)
    return;

  /* step_can at the edges. */
  CHECK(step_can(&ctx) == 1, "%s: step_can refuses", c->name);
  int other = c->access == MPSPROT_ACCESS_READ ? MPSPROT_ACCESS_WRITE : MPSPROT_ACCESS_READ;
  CHECK(can_at(&ctx, ea, region_slot, MPSPROT_ACCESS_ALL, ctx.insn_len) == 1,
        "%s: unknown access kind refused", c->name);
  CHECK(can_at(&ctx, ea + (uint64_t)c->size - 1, region_slot, c->access, ctx.insn_len) == 1,
        "%s: fault at the last byte refused", c->name);
  CHECK(can_at(&ctx, ea - 1, region_slot, c->access, ctx.insn_len) == 0,
        "%s: fault below the access accepted", c->name);
  CHECK(can_at(&ctx, ea + (uint64_t)c->size, region_slot, c->access, ctx.insn_len) == 0,
        "%s: fault above the access accepted", c->name);
  CHECK(can_at(&ctx, ea, region_slot + 1, c->access, ctx.insn_len) == 0,
        "%s: wrong slot accepted", c->name);
  CHECK(can_at(&ctx, ea, region_slot, other, ctx.insn_len) == (d.op == STEP_OP_RMW),
        "%s: the other access kind (a read-modify-write agrees with both)", c->name);
  CHECK(can_at(&ctx, ea, region_slot, c->access, c->len) == 1,
        "%s: exact insn_len refused", c->name);
  CHECK(can_at(&ctx, ea, region_slot, c->access, c->len - 1) == 0,
        "%s: insn_len one short accepted", c->name);

  /* Memory before. */
  fill_pattern();
  uint8_t mem0[32];
  for (int k = 0; k < 4; k++)
    step_le_put(mem0 + 8 * k, 8, c->mem[k]);
  memcpy(region_alias + c->off, mem0, 32);

  struct mpsprot_context before = ctx;
  struct mpsprot_log_entry e;
  memset(&e, 0xEE, sizeof e);
  int rc = step_do(&ctx, &e);
  CHECK(rc == 0, "%s: step_do returned %d", c->name, rc);
  if (rc != 0)
    return;
  CHECK(ctx.pc == before.pc + (uint64_t)c->len, "%s: pc advanced by %lld", c->name,
        (long long)(ctx.pc - before.pc));
  CHECK((ctx.flags & MPSPROT_CTX_STEPPED) != 0, "%s: STEPPED not set", c->name);

  /* Registers: the listed ones take their values; all others keep theirs. */
  struct mpsprot_context expect = before;
  expect.pc = before.pc + (uint64_t)c->len;
  for (int k = 0; k < NREG; k++)
    if (c->out[k].used)
      reg_put(&expect, c->out[k].reg, init_value(&c->out[k]));
  for (int r = 0; r < 32; r++)
    CHECK(ctx.regs[r] == expect.regs[r], "%s: reg %d = %#llx, expected %#llx", c->name, r,
          (unsigned long long)ctx.regs[r], (unsigned long long)expect.regs[r]);
  for (int n = 0; n < 32; n++) {
    CHECK(reg_get(&ctx, VLO(n)) == reg_get(&expect, VLO(n)), "%s: v%d low = %#llx, expected %#llx",
          c->name, n, (unsigned long long)reg_get(&ctx, VLO(n)),
          (unsigned long long)reg_get(&expect, VLO(n)));
    CHECK(reg_get(&ctx, VHI(n)) == reg_get(&expect, VHI(n)), "%s: v%d high = %#llx, expected %#llx",
          c->name, n, (unsigned long long)reg_get(&ctx, VHI(n)),
          (unsigned long long)reg_get(&expect, VHI(n)));
  }
  CHECK(ctx.sp == ctx.regs[sp_reg(arch)], "%s: sp copy %#llx differs from the register",
        c->name, (unsigned long long)ctx.sp);
  CHECK(ctx.address == before.address && ctx.slot == before.slot && ctx.access == before.access
            && memcmp(ctx.insn, before.insn, sizeof ctx.insn) == 0,
        "%s: step_do changed fields it does not own", c->name);

  /* Memory after: only [ea, ea + size) of a store changes. */
  uint8_t mem1[32];
  for (int k = 0; k < 4; k++)
    step_le_put(mem1 + 8 * k, 8, c->mem_after[k]);
  size_t bad = 0, first_bad = 0;
  for (size_t i = 0; i < region_size; i++) {
    uint8_t want = pattern_byte(i);
    if (i >= (size_t)c->off && i < (size_t)c->off + 32) {
      size_t j = i - (size_t)c->off;
      want = (c->access == MPSPROT_ACCESS_WRITE && j < (size_t)c->size) ? mem1[j] : mem0[j];
    }
    if (region_alias[i] != want && bad++ == 0)
      first_bad = i;
  }
  CHECK(bad == 0, "%s: %zu bytes of memory differ, first at offset %#zx (%#x, expected %#x)",
        c->name, bad, first_bad, region_alias[first_bad],
        first_bad >= (size_t)c->off && first_bad < (size_t)c->off + 32
            ? (c->access == MPSPROT_ACCESS_WRITE && first_bad - (size_t)c->off < (size_t)c->size
                   ? mem1[first_bad - (size_t)c->off]
                   : mem0[first_bad - (size_t)c->off])
            : pattern_byte(first_bad));
  CHECK(region_base[c->off] == region_alias[c->off], "%s: the views differ", c->name);

  /* The log entry. */
  int low = c->size < 8 ? c->size : 8;
  uint64_t lb = step_le_get(mem0, low);
  uint64_t la = c->access == MPSPROT_ACCESS_WRITE ? step_le_get(mem1, low) : lb;
  CHECK(e.address == ea, "%s: log address %#llx", c->name, (unsigned long long)e.address);
  CHECK(e.access == c->access, "%s: log access %d", c->name, e.access);
  CHECK(e.size == c->size, "%s: log size %d", c->name, e.size);
  CHECK(e.before == lb, "%s: log before %#llx, expected %#llx", c->name,
        (unsigned long long)e.before, (unsigned long long)lb);
  CHECK(e.after == la, "%s: log after %#llx, expected %#llx", c->name,
        (unsigned long long)e.after, (unsigned long long)la);
}

static void run_table(int arch, const struct step_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++)
    run_case(arch, &cases[i]);
}

/* A small xorshift generator: the fuzz runs with a fixed seed. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
}

/* Random register files: each register 0, a small number, or an address in the region,
 * so that many accepted instructions also reach step_do. */
static void random_regs(struct mpsprot_context *ctx) {
  uint64_t b = (uint64_t)(uintptr_t)region_base;
  for (int r = 0; r < 32; r++) {
    switch (rng() % 4) {
    case 0:
      ctx->regs[r] = 0;
      break;
    case 1:
      ctx->regs[r] = rng() % 64;
      break;
    case 2:
      ctx->regs[r] = b + region_size / 2 + (rng() % 256);
      break;
    default:
      ctx->regs[r] = rng();
      break;
    }
  }
  for (int n = 0; n < 16; n++)
    for (int k = 0; k < 16; k++) {
      ctx->vregs[n][k] = (uint8_t)rng();
      ctx->vext[n][k] = (uint8_t)rng();
    }
  ctx->flags |= MPSPROT_CTX_VEXT; /* the upper vector state is there */
  if (ctx->arch == MPSPROT_ARCH_X86_64) { /* MXCSR: every exception masked, any rounding */
    ctx->regs[17] = 0x1F80u | (rng() & 0x603Fu);
    ctx->flags |= MPSPROT_CTX_MXCSR;
  }
  ctx->pc = b + region_size / 2 + (rng() % 64);
}

/* One fuzz input: decode; the answer must not depend on the bytes past insn_len (or past
 * 15 on x86-64); accepted lengths are <= insn_len; accepted instructions whose access
 * lies in the region are stepped, and only [ea, ea + size) may change. */
static long fuzz_accepted, fuzz_stepped;
static void fuzz_one(int arch, struct mpsprot_context *ctx) {
  int (*decode)(const struct mpsprot_context *, struct step_insn *) =
      arch == MPSPROT_ARCH_X86_64 ? step_x86_64_decode : step_aarch64_decode;
  struct step_insn d1, d2;
  int a1 = decode(ctx, &d1);
  int limit = arch == MPSPROT_ARCH_X86_64 ? 15 : 4;
  int valid = ctx->insn_len < limit ? ctx->insn_len : limit;
  struct mpsprot_context alt = *ctx;
  for (int k = valid < 0 ? 0 : valid; k < 16; k++)
    alt.insn[k] = (uint8_t)~alt.insn[k];
  int a2 = decode(&alt, &d2);
  if (a1 != a2 || (a1 && memcmp(&d1, &d2, sizeof d1) != 0)) {
    CHECK(0, "fuzz: the answer depends on bytes past insn_len %d", ctx->insn_len);
    return;
  }
  if (arch == MPSPROT_ARCH_AARCH64 && ctx->insn_len >= 4) {
    uint32_t w = (uint32_t)step_le_get(ctx->insn, 4);
    int kind = step_aarch64_access_kind(w);
    if (a1 && kind != d1.access)
      CHECK(0, "fuzz: %08x stepped as %d, access_kind says %d", w, d1.access, kind);
  }
  if (!a1)
    return;
  fuzz_accepted++;
  if (d1.len <= 0 || d1.len > ctx->insn_len || d1.len > limit
      || (arch == MPSPROT_ARCH_AARCH64 && d1.len != 4))
    CHECK(0, "fuzz: accepted length %d with insn_len %d", d1.len, ctx->insn_len);
  if (d1.size < 1 || d1.size > STEP_MAX_SIZE || d1.size != d1.elem * d1.nregs)
    CHECK(0, "fuzz: size %d elem %d", d1.size, d1.elem);
  if (d1.access != MPSPROT_ACCESS_READ && d1.access != MPSPROT_ACCESS_WRITE)
    CHECK(0, "fuzz: access %d", d1.access);
  uint64_t b = (uint64_t)(uintptr_t)region_base;
  if (d1.ea < b + 64 || d1.ea > b + region_size - 64 - STEP_MAX_SIZE)
    return; /* the window checked below stays in the region (and this cannot wrap) */
  if (d1.op == STEP_OP_PUSH || d1.op == STEP_OP_POP)
    return; /* their stack word is at a random rsp: not stepped here */
  ctx->address = d1.ea;
  ctx->slot = region_slot;
  ctx->access = MPSPROT_ACCESS_ALL;
  ctx->flags &= ~MPSPROT_CTX_STEPPED; /* a fresh fault each time (one step per fault) */
  if ((d1.lock || d1.align) && (d1.ea % (uint64_t)d1.size) != 0) {
    if (step_can(ctx) != 0)
      CHECK(0, "fuzz: an unaligned atomic or aligned-only access accepted");
    return;
  }
  if (d1.op == STEP_OP_FP && !step_x86_64_fp_available()) {
    /* x86-64 arithmetic decoded on another host: it cannot be executed here */
    if (step_can(ctx) != 0)
      CHECK(0, "fuzz: x86-64 arithmetic accepted on a host that cannot execute it");
    return;
  }
  if (d1.op == STEP_OP_STRING && d1.rep && ctx->regs[1] == 0) {
    /* a REP string instruction with RCX 0 accesses nothing: it cannot have faulted */
    if (step_can(ctx) != 0)
      CHECK(0, "fuzz: a REP string instruction with RCX 0 accepted");
    return;
  }
  if (step_can(ctx) != 1) {
    CHECK(0, "fuzz: decoded with ea in the region but step_can refuses");
    return;
  }
  size_t off = (size_t)(d1.ea - b);
  uint8_t around[64 + 32 + 64];
  memcpy(around, region_alias + off - 64, sizeof around);
  uint64_t pc = ctx->pc;
  if (step_do(ctx, NULL) != 0) {
    CHECK(0, "fuzz: step_do failed after step_can");
    return;
  }
  fuzz_stepped++;
  /* an unfinished REP string iteration resumes at the instruction */
  if (ctx->pc != pc + (uint64_t)d1.len && !(d1.op == STEP_OP_STRING && d1.rep && ctx->pc == pc))
    CHECK(0, "fuzz: pc advanced by %lld", (long long)(ctx->pc - pc));
  for (size_t i = 0; i < sizeof around; i++) {
    int inside = i >= 64 && i < 64 + (size_t)d1.size;
    if (!inside && region_alias[off - 64 + i] != around[i]) {
      CHECK(0, "fuzz: a byte outside the access changed");
      break;
    }
    if (inside && d1.access == MPSPROT_ACCESS_READ && region_alias[off - 64 + i] != around[i]) {
      CHECK(0, "fuzz: a load changed memory");
      break;
    }
  }
}

#endif /* MPSPROT_STEP_TEST_H */
