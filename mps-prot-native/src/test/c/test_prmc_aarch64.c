/* test_prmc_aarch64.c -- the aarch64 CPU seam (prmc_aarch64.c) on signal frames built by
 * hand: the paths a real fault under qemu-user never takes.
 *
 * qemu-user delivers SIGSEGV without an ESR record, so the end-to-end tests see only the
 * instruction path of the access kind.  Here prmc_capture and prmc_restore run on
 * ucontexts whose __reserved area is written byte by byte after the kernel's UAPI
 * (arch/arm64/include/uapi/asm/sigcontext.h): an ESR record with a data abort (WnR set and
 * clear, from EL0 and EL1), an instruction abort, an exception class that is neither;
 * records the walk must skip or stop at (unknown magic, a size of 0, a size that is not a
 * multiple of 16, a size past the end); an EXTRA record whose block holds the ESR and SVE
 * records; frames without FPSIMD.  prmc_restore is checked against the FPSIMD and SVE
 * records: changed V registers written to both, Z's bits above 128 zeroed, unchanged
 * ones left alone, a stepped SIMD&FP load zeroing Z even when the value did not change.
 *
 * Links the shim's objects (prmc_* are hidden in the library).  aarch64 only: elsewhere
 * it prints a skip line and passes.
 */
#include "check.h"

#include <stdio.h>

#if !defined(__aarch64__)
int main(void) {
  printf("test_prmc_aarch64: skipped: built for another CPU (runs in make check-aarch64)\n");
  return 0;
}
#else

#include "mpsprot.h"
#include "prmc.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FPSIMD_MAGIC_ 0x46508001u
#define ESR_MAGIC_ 0x45535201u
#define SVE_MAGIC_ 0x53564501u
#define EXTRA_MAGIC_ 0x45585401u
#define TPIDR2_MAGIC_ 0x54504902u

#define RD MPSPROT_ACCESS_READ
#define WR MPSPROT_ACCESS_WRITE
#define RW (MPSPROT_ACCESS_READ | MPSPROT_ACCESS_WRITE)

#define INSN_LDR 0xf9400020u   /* ldr x0, [x1] */
#define INSN_STR 0xf9000020u   /* str x0, [x1] */
#define INSN_NOP 0xd503201fu   /* not a load or store */
#define INSN_LDR_Q5 0x3dc00025u /* ldr q5, [x1] */

#define SVE_VL 32 /* bytes per Z register in the frames built here */

static long page;
static uint8_t *code;    /* a readable page holding the instruction words */
static uint8_t *data;    /* the "fault address" page (never touched) */
static uint8_t *noread;  /* a PROT_NONE page */
static uint8_t extra_block[4096] __attribute__((aligned(16)));

/* ---- Building frames ------------------------------------------------------------- */

struct frame {
  ucontext_t uc;
  unsigned char *at; /* where the next record goes */
  unsigned char *end;
};

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

static unsigned char *record(struct frame *f, uint32_t magic, uint32_t size) {
  unsigned char *r = f->at;
  memset(r, 0, size);
  put32(r, magic);
  put32(r + 4, size);
  f->at += size;
  return r;
}

static unsigned char *fpsimd(struct frame *f) {
  unsigned char *r = record(f, FPSIMD_MAGIC_, 16 + 32 * 16);
  for (int n = 0; n < 32; n++)
    for (int i = 0; i < 16; i++)
      r[16 + 16 * n + i] = (unsigned char)(n * 16 + i);
  return r;
}

static void esr(struct frame *f, uint64_t value) { put64(record(f, ESR_MAGIC_, 16) + 8, value); }

static unsigned char *sve(struct frame *f) {
  uint32_t size = (16 + 32 * SVE_VL + 17 * (SVE_VL / 8) + 15) / 16 * 16;
  unsigned char *r = record(f, SVE_MAGIC_, size);
  put32(r + 8, SVE_VL); /* vl (u16) and flags (u16) = 0 */
  for (int n = 0; n < 32; n++)
    for (int i = 0; i < SVE_VL; i++)
      r[16 + SVE_VL * n + i] = (unsigned char)(0x80 + n + i);
  return r;
}

static void end(struct frame *f) { record(f, 0, 0); }

/* A frame at a load of x0 from data + 0x18 by the instruction `word`. */
static void frame_init(struct frame *f, uint32_t word) {
  memset(f, 0, sizeof *f);
  f->at = f->uc.uc_mcontext.__reserved;
  f->end = f->at + sizeof f->uc.uc_mcontext.__reserved;
  for (int i = 0; i < 31; i++)
    f->uc.uc_mcontext.regs[i] = 0x1000 + (uint64_t)i;
  f->uc.uc_mcontext.sp = 0x7ffff000;
  put32(code + 0x40, word);
  f->uc.uc_mcontext.pc = (uint64_t)(uintptr_t)(code + 0x40);
}

static siginfo_t fault_at(void *addr) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = SIGSEGV;
  si.si_code = SEGV_ACCERR;
  si.si_addr = addr;
  return si;
}

/* ESR_EL1 values: EC in bits 31..26, IL (bit 25), WnR (bit 6), a permission fault. */
#define ESR(ec, wnr) (((uint64_t)(ec) << 26) | ((uint64_t)1 << 25) | ((uint64_t)(wnr) << 6) | 0x0F)

static int capture(struct frame *f, struct mpsprot_context *c, void *addr) {
  siginfo_t si = fault_at(addr);
  memset(c, 0xEE, sizeof *c);
  return prmc_capture(c, &si, &f->uc);
}

/* ---- Capture --------------------------------------------------------------------- */

static void test_fields(void) {
  struct frame f;
  struct mpsprot_context c;
  frame_init(&f, INSN_LDR);
  unsigned char *fp = fpsimd(&f);
  end(&f);
  CHECK(capture(&f, &c, data + 0x18) == PRMC_DATA, "a data fault");
  CHECK(c.address == (uint64_t)(uintptr_t)(data + 0x18), "exact address");
  CHECK(c.pc == (uint64_t)(uintptr_t)(code + 0x40) && c.sp == 0x7ffff000, "pc, sp");
  int regs_ok = 1;
  for (int i = 0; i < 31; i++)
    regs_ok &= c.regs[i] == 0x1000 + (uint64_t)i;
  CHECK(regs_ok && c.regs[31] == 0x7ffff000, "x0..x30, and sp in regs[31]");
  CHECK(c.arch == MPSPROT_ARCH_AARCH64 && c.slot == -1 && (c.flags & ~MPSPROT_CTX_VEXT) == 0, "arch, slot, flags %#x",
        c.flags);
  CHECK(c.tid == (int32_t)syscall(SYS_gettid), "tid");
  CHECK(c.ucontext == (uint64_t)(uintptr_t)&f.uc, "ucontext");
  CHECK(c.insn_len == 4 && memcmp(c.insn, code + 0x40, 4) == 0, "insn (len %d)", c.insn_len);
  int zero = 1;
  for (int i = 4; i < 16; i++)
    zero &= c.insn[i] == 0;
  CHECK(zero, "insn bytes after the word are zero");
  CHECK(memcmp(c.vregs, fp + 16, sizeof c.vregs) == 0, "v0..v15 from the FPSIMD record");
  CHECK(memcmp(c.vext, fp + 16 + 256, sizeof c.vext) == 0 && (c.flags & MPSPROT_CTX_VEXT),
        "v16..v31 from the FPSIMD record into vext, MPSPROT_CTX_VEXT set");
  CHECK(c.access == RD, "no ESR: the kind from the instruction (ldr): %d", c.access);

  /* No FPSIMD record: vregs are zero. */
  frame_init(&f, INSN_STR);
  end(&f);
  CHECK(capture(&f, &c, data + 0x18) == PRMC_DATA && c.access == WR, "str: %d", c.access);
  uint8_t zeros[sizeof c.vregs];
  memset(zeros, 0, sizeof zeros);
  CHECK(memcmp(c.vregs, zeros, sizeof zeros) == 0, "no FPSIMD record: vregs zero");
  CHECK(!(c.flags & MPSPROT_CTX_VEXT), "no FPSIMD record: no MPSPROT_CTX_VEXT");

  /* An instruction that is no load or store: both. */
  frame_init(&f, INSN_NOP);
  end(&f);
  CHECK(capture(&f, &c, data + 0x18) == PRMC_DATA && c.access == RW && (c.flags & ~MPSPROT_CTX_VEXT) == 0,
        "unknown kind: READ|WRITE, %d", c.access);

  /* A pc that is not 4-aligned (never fetched): no bytes, both kinds. */
  frame_init(&f, INSN_LDR);
  f.uc.uc_mcontext.pc += 2;
  end(&f);
  CHECK(capture(&f, &c, data + 0x18) == PRMC_DATA && c.insn_len == 0 && c.access == RW,
        "misaligned pc: insn_len %d access %d", c.insn_len, c.access);
}

static void test_esr(void) {
  struct frame f;
  struct mpsprot_context c;
  static const struct {
    const char *what;
    uint32_t insn;
    uint64_t esr;
    int result, access, flags;
  } t[] = {
      {"DABT from EL0, WnR=1, over a load", INSN_LDR, ESR(0x24, 1), PRMC_DATA, WR, MPSPROT_CTX_ESR},
      {"DABT from EL0, WnR=0, over a store", INSN_STR, ESR(0x24, 0), PRMC_DATA, RD, MPSPROT_CTX_ESR},
      {"DABT from EL1, WnR=1", INSN_NOP, ESR(0x25, 1), PRMC_DATA, WR, MPSPROT_CTX_ESR},
      {"DABT from EL1, WnR=0", INSN_NOP, ESR(0x25, 0), PRMC_DATA, RD, MPSPROT_CTX_ESR},
      {"IABT from EL0", INSN_LDR, ESR(0x20, 0), PRMC_NOT_DATA, 0, 0},
      {"IABT from EL1", INSN_LDR, ESR(0x21, 0), PRMC_NOT_DATA, 0, 0},
      {"EC 0 (unknown): the instruction decides", INSN_STR, ESR(0x00, 0), PRMC_DATA, WR, 0},
      {"EC 0x15 (SVC): the instruction decides", INSN_LDR, ESR(0x15, 1), PRMC_DATA, RD, 0},
  };
  for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
    frame_init(&f, t[i].insn);
    fpsimd(&f);
    esr(&f, t[i].esr);
    end(&f);
    int r = capture(&f, &c, data + 0x18);
    CHECK(r == t[i].result, "%s: result %d", t[i].what, r);
    if (r == PRMC_DATA)
      CHECK(c.access == t[i].access && (c.flags & ~MPSPROT_CTX_VEXT) == t[i].flags, "%s: access %d flags %#x",
            t[i].what, c.access, c.flags);
  }

  /* ESR before FPSIMD, after an unknown record: the order does not matter. */
  frame_init(&f, INSN_LDR);
  put64(record(&f, TPIDR2_MAGIC_, 16) + 8, 0x1234);
  esr(&f, ESR(0x24, 1));
  unsigned char *fp = fpsimd(&f);
  end(&f);
  CHECK(capture(&f, &c, data + 0x18) == PRMC_DATA && c.access == WR
            && (c.flags & MPSPROT_CTX_ESR) && memcmp(c.vregs, fp + 16, sizeof c.vregs) == 0,
        "unknown record skipped, ESR then FPSIMD found");
}

/* Records the walk must stop at: what follows them is not seen. */
static void test_walk_stops(void) {
  struct frame f;
  struct mpsprot_context c;
  static const uint32_t bad_size[] = {0, 4, 8 + 4, 24};
  for (unsigned i = 0; i < sizeof bad_size / sizeof bad_size[0]; i++) {
    frame_init(&f, INSN_LDR);
    fpsimd(&f);
    unsigned char *r = f.at;
    memset(r, 0, 96);
    put32(r, TPIDR2_MAGIC_);
    put32(r + 4, bad_size[i]);
    /* Where a walk that accepted the size would look next: an ESR record saying WRITE
     * (for sizes below the header, right after the header). */
    unsigned char *next = r + (bad_size[i] >= 8 ? bad_size[i] : 8);
    put32(next, ESR_MAGIC_);
    put32(next + 4, 16);
    put64(next + 8, ESR(0x24, 1));
    CHECK(capture(&f, &c, data + 0x18) == PRMC_DATA && c.access == RD && (c.flags & ~MPSPROT_CTX_VEXT) == 0,
          "a record of size %u ends the walk: access %d flags %#x", bad_size[i], c.access,
          c.flags);
  }
  /* A size that runs past the end of __reserved. */
  frame_init(&f, INSN_LDR);
  fpsimd(&f);
  unsigned char *r = f.at;
  put32(r, ESR_MAGIC_);
  put32(r + 4, (uint32_t)(f.end - r) + 16);
  put64(r + 8, ESR(0x24, 1));
  CHECK(capture(&f, &c, data + 0x18) == PRMC_DATA && c.access == RD && (c.flags & ~MPSPROT_CTX_VEXT) == 0,
        "a record past the end is not used");
  /* A walk with no terminator at all (every record valid, __reserved full of them). */
  frame_init(&f, INSN_LDR);
  while (f.end - f.at >= 16)
    record(&f, TPIDR2_MAGIC_, 16);
  CHECK(capture(&f, &c, data + 0x18) == PRMC_DATA && c.access == RD, "no terminator");
  /* An FPSIMD record too small to hold v0..v31 is not used (the walk goes on). */
  frame_init(&f, INSN_LDR);
  memset(record(&f, FPSIMD_MAGIC_, 16) + 8, 0x99, 8);
  esr(&f, ESR(0x24, 1));
  end(&f);
  uint8_t zeros[sizeof c.vregs];
  memset(zeros, 0, sizeof zeros);
  CHECK(capture(&f, &c, data + 0x18) == PRMC_DATA && memcmp(c.vregs, zeros, sizeof zeros) == 0
            && c.access == WR,
        "a short FPSIMD record is skipped, the ESR after it used");
}

/* An instruction fetch without ESR: the fault address on pc's page.  pc is on a page
 * that cannot be read: the capture must not read it. */
static void test_fetch(void) {
  struct frame f;
  struct mpsprot_context c;
  frame_init(&f, INSN_LDR);
  f.uc.uc_mcontext.pc = (uint64_t)(uintptr_t)(noread + 0x20);
  end(&f);
  CHECK(capture(&f, &c, noread + 0x20) == PRMC_NOT_DATA, "a fetch from the faulting page");
  CHECK(capture(&f, &c, noread + page - 1) == PRMC_NOT_DATA, "same page, other address");
}

/* The EXTRA record: ESR and SVE in the block it points to. */
static void test_extra(void) {
  struct frame f;
  struct mpsprot_context c;
  frame_init(&f, INSN_LDR);
  fpsimd(&f);
  unsigned char *x = record(&f, EXTRA_MAGIC_, 32);
  end(&f);
  struct frame blk;
  blk.at = extra_block;
  blk.end = extra_block + sizeof extra_block;
  esr(&blk, ESR(0x24, 1));
  unsigned char *z = sve(&blk);
  end(&blk);
  put64(x + 8, (uint64_t)(uintptr_t)extra_block);
  put32(x + 16, (uint32_t)(blk.at - extra_block));
  CHECK(capture(&f, &c, data + 0x18) == PRMC_DATA && c.access == WR
            && (c.flags & MPSPROT_CTX_ESR),
        "ESR found in the extra block: access %d flags %#x", c.access, c.flags);
  memset(c.vregs[2], 0x42, 16);
  prmc_restore(&f.uc, &c);
  int ok = 1;
  for (int i = 0; i < SVE_VL; i++)
    ok &= z[16 + 2 * SVE_VL + i] == (i < 16 ? 0x42 : 0);
  CHECK(ok, "z2 in the extra block's SVE record written");

  /* A misaligned datap is not followed (a valid block starts there). */
  blk.at = extra_block + 1024 + 8;
  esr(&blk, ESR(0x24, 1));
  end(&blk);
  put64(x + 8, (uint64_t)(uintptr_t)extra_block + 1024 + 8);
  CHECK(capture(&f, &c, data + 0x18) == PRMC_DATA && c.access == RD && (c.flags & ~MPSPROT_CTX_VEXT) == 0,
        "misaligned extra block ignored");
}

/* ---- Restore --------------------------------------------------------------------- */

static void test_restore(void) {
  struct frame f;
  struct mpsprot_context c;
  frame_init(&f, INSN_LDR);
  unsigned char *fp = fpsimd(&f);
  unsigned char *z = sve(&f);
  end(&f);
  unsigned char fp0[16 + 32 * 16], z0[16 + 32 * SVE_VL];
  memcpy(fp0, fp, sizeof fp0);
  memcpy(z0, z, sizeof z0);
  CHECK(capture(&f, &c, data + 0x18) == PRMC_DATA, "capture");
  for (int i = 0; i < 31; i++)
    c.regs[i] = 0x5000 + (uint64_t)i;
  c.regs[31] = 0x7fffe000;
  c.sp = 0x1; /* a reader's copy: restore takes regs[31] */
  c.pc += 4;
  memset(c.vregs[3], 0x33, 16);
  prmc_restore(&f.uc, &c);
  int regs_ok = 1;
  for (int i = 0; i < 31; i++)
    regs_ok &= f.uc.uc_mcontext.regs[i] == 0x5000 + (uint64_t)i;
  CHECK(regs_ok, "x0..x30 written back");
  CHECK(f.uc.uc_mcontext.sp == 0x7fffe000, "sp from regs[31]");
  CHECK(f.uc.uc_mcontext.pc == (uint64_t)(uintptr_t)(code + 0x44), "pc");
  int v_ok = 1, z_ok = 1;
  for (int n = 0; n < 32; n++) {
    for (int i = 0; i < 16; i++)
      v_ok &= fp[16 + 16 * n + i] == (n == 3 ? 0x33 : fp0[16 + 16 * n + i]);
    for (int i = 0; i < SVE_VL; i++)
      z_ok &= z[16 + SVE_VL * n + i]
              == (n == 3 ? (i < 16 ? 0x33 : 0) : z0[16 + SVE_VL * n + i]);
  }
  CHECK(v_ok, "FPSIMD: v3 written, every other V register as it was");
  CHECK(z_ok, "SVE: z3 = v3 then zeroes, every other Z register as it was");
  CHECK(memcmp(fp, fp0, 16) == 0 && memcmp(z, z0, 16) == 0, "record headers untouched");

  /* A stepped ldr q5 that loaded the value v5 already held: z5's upper bits still go. */
  frame_init(&f, INSN_LDR_Q5);
  fp = fpsimd(&f);
  z = sve(&f);
  end(&f);
  CHECK(capture(&f, &c, data + 0x18) == PRMC_DATA && c.access == RD, "ldr q5");
  c.flags |= MPSPROT_CTX_STEPPED;
  prmc_restore(&f.uc, &c);
  int ok = 1;
  for (int i = 0; i < SVE_VL; i++)
    ok &= z[16 + 5 * SVE_VL + i] == (i < 16 ? fp[16 + 5 * 16 + i] : 0);
  CHECK(ok, "stepped SIMD&FP load: z5 = v5 then zeroes");
  ok = 1;
  for (int i = 0; i < SVE_VL; i++)
    ok &= z[16 + 6 * SVE_VL + i] == (unsigned char)(0x80 + 6 + i);
  CHECK(ok, "z6 untouched");

  /* Without an SVE record only FPSIMD is written; without FPSIMD nothing is. */
  frame_init(&f, INSN_LDR);
  fp = fpsimd(&f);
  end(&f);
  capture(&f, &c, data + 0x18);
  memset(c.vregs[15], 0x77, 16);
  prmc_restore(&f.uc, &c);
  ok = 1;
  for (int i = 0; i < 16; i++)
    ok &= fp[16 + 15 * 16 + i] == 0x77 && fp[16 + 16 * 16 + i] == (unsigned char)(16 * 16 + i);
  CHECK(ok, "FPSIMD only: v15 written, v16 untouched");
  frame_init(&f, INSN_LDR);
  fp = fpsimd(&f);
  end(&f);
  capture(&f, &c, data + 0x18);
  memset(c.vext[13], 0x29, 16); /* v29 */
  prmc_restore(&f.uc, &c);
  ok = 1;
  for (int i = 0; i < 16; i++)
    ok &= fp[16 + 29 * 16 + i] == 0x29 && fp[16 + 28 * 16 + i] == (unsigned char)(28 * 16 + i);
  CHECK(ok, "FPSIMD only: v29 written from vext, v28 untouched");
  frame_init(&f, INSN_LDR);
  end(&f);
  capture(&f, &c, data + 0x18);
  c.regs[7] = 77;
  prmc_restore(&f.uc, &c);
  CHECK(f.uc.uc_mcontext.regs[7] == 77, "no records: the registers are still written");
}

int main(void) {
  page = (long)mpsprot_page_size();
  code = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  data = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  noread = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(code != MAP_FAILED && data != MAP_FAILED && noread != MAP_FAILED, "mmap");
  test_fields();
  test_esr();
  test_walk_stops();
  test_fetch();
  test_extra();
  test_restore();
  return check_report("test_prmc_aarch64");
}
#endif
