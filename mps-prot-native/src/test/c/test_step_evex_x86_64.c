/* test_step_evex_x86_64.c -- the EVEX (AVX-512) moves stepped by step_do, checked against
 * the CPU itself, and stepped by the real handler through the signal frame's XSAVE area.
 *
 * 1. Native comparison: each form runs natively on a scratch buffer from a generated
 *    stub (zmm0..31 and k1..k7 loaded from a state record, rbx/rsi the address, zmm0..31
 *    and k0..k7 saved after the instruction), and the same instruction is stepped on a
 *    region from the same registers and memory; all 32 ZMM registers, the opmasks and
 *    the memory must agree.  Random register, memory and mask values (masks often 0,
 *    all ones, one bit); a form whose mask enables no element is refused by step_can
 *    (it cannot fault) and only counted.
 * 2. Masking and the region: a masked store whose masked-off elements lie past the end
 *    of the region steps and writes only the enabled ones; an enabled element outside
 *    the region, a fault address in a masked-off element, an empty mask, and a context
 *    without MPSPROT_CTX_AVX512 are refused; the log entry names the enabled span.
 * 3. Real faults: masked and unmasked EVEX loads and stores (zmm16..31, k7) on a
 *    no-access STEP page, stepped by the handler: the opmask and Hi16_ZMM components of
 *    the frame are read and written back (other registers keep their values).
 * 4. prmc_capture/prmc_restore over a made-up frame: components at CPUID's offsets, zero
 *    when their xstate_bv bit is clear, written back with the bit set; a frame lacking
 *    an AVX-512 component sets neither MPSPROT_CTX_VEXT nor MPSPROT_CTX_AVX512.
 * Needs AVX-512 F, BW and VL (else SKIPPED with the reason). */
#pragma GCC diagnostic ignored "-Wunused-function" /* step_test.h helpers not used here */
#include "step_test.h"

#if defined(__x86_64__)
#include "prmc.h"

#include <cpuid.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static const struct {
  const char *name;
  const char *hex;
} forms[] = {
    {"vmovdqu64 zmm1,ZMMWORD PTR [rbx+0x40]", "62 f1 fe 48 6f 4b 01"},
    {"vmovdqu64 ZMMWORD PTR [rbx+0x40],zmm17", "62 e1 fe 48 7f 4b 01"},
    {"vmovdqu64 YMMWORD PTR [rbx]{k7},ymm0", "62 f1 fe 2f 7f 03"},
    {"vmovdqu64 XMMWORD PTR [rbx+0x10],xmm0", "62 f1 fe 08 7f 43 01"},
    {"vmovdqu64 zmm30{k3}{z},ZMMWORD PTR [rbx+rsi*8+0x40]", "62 61 fe cb 6f 74 f3 01"},
    {"vmovdqu64 ymm5{k1},YMMWORD PTR [rbx+0x20]", "62 f1 fe 29 6f 6b 01"},
    {"vmovdqu32 zmm2{k2},ZMMWORD PTR [rbx+0x3]", "62 f1 7e 4a 6f 93 03 00 00 00"},
    {"vmovdqu32 XMMWORD PTR [rbx+0x8]{k4},xmm25", "62 61 7e 0c 7f 8b 08 00 00 00"},
    {"vmovdqu16 zmm3{k5}{z},ZMMWORD PTR [rbx+0x1]", "62 f1 ff cd 6f 9b 01 00 00 00"},
    {"vmovdqu16 YMMWORD PTR [rbx+0x22]{k6},ymm16", "62 e1 ff 2e 7f 83 22 00 00 00"},
    {"vmovdqu8 zmm4{k7},ZMMWORD PTR [rbx+0x5]", "62 f1 7f 4f 6f a3 05 00 00 00"},
    {"vmovdqu8 ZMMWORD PTR [rbx+0x7]{k1},zmm31", "62 61 7f 49 7f bb 07 00 00 00"},
    {"vmovdqu8 xmm18{k2}{z},XMMWORD PTR [rbx+0x30]", "62 e1 7f 8a 6f 53 03"},
    {"vmovdqa32 zmm6{k3},ZMMWORD PTR [rbx+0x40]", "62 f1 7d 4b 6f 73 01"},
    {"vmovdqa64 YMMWORD PTR [rbx+0x20]{k4},ymm7", "62 f1 fd 2c 7f 7b 01"},
    {"vmovdqa64 xmm20,XMMWORD PTR [rbx+0x10]", "62 e1 fd 08 6f 63 01"},
    {"vmovups zmm8{k5}{z},ZMMWORD PTR [rbx+0x4]", "62 71 7c cd 10 83 04 00 00 00"},
    {"vmovups YMMWORD PTR [rbx+0x4]{k6},ymm24", "62 61 7c 2e 11 83 04 00 00 00"},
    {"vmovupd zmm9,ZMMWORD PTR [rbx+0x8]", "62 71 fd 48 10 8b 08 00 00 00"},
    {"vmovupd XMMWORD PTR [rbx+0x18]{k7},xmm9", "62 71 fd 0f 11 8b 18 00 00 00"},
    {"vmovaps zmm10{k1},ZMMWORD PTR [rbx+0x40]", "62 71 7c 49 28 53 01"},
    {"vmovapd ZMMWORD PTR [rbx+0x40]{k2},zmm11", "62 71 fd 4a 29 5b 01"},
    {"vmovss xmm12{k3},DWORD PTR [rbx+0x14]", "62 71 7e 0b 10 63 05"},
    {"vmovss xmm21{k4}{z},DWORD PTR [rbx+0x14]", "62 e1 7e 8c 10 6b 05"},
    {"vmovss DWORD PTR [rbx+0x18]{k5},xmm22", "62 e1 7e 0d 11 73 06"},
    {"vmovsd xmm23,QWORD PTR [rbx+0x18]", "62 e1 ff 08 10 7b 03"},
    {"vmovsd QWORD PTR [rbx+0x20]{k6},xmm13", "62 71 ff 0e 11 6b 04"},
    {"vmovd xmm26,DWORD PTR [rbx+0x10]", "62 61 7d 08 6e 53 04"},
    {"vmovd DWORD PTR [rbx+0x10],xmm27", "62 61 7d 08 7e 5b 04"},
    {"vmovq xmm28,QWORD PTR [rbx+0x10] (66 W1 6E)", "62 61 fd 08 6e 63 02"},
    {"vmovq QWORD PTR [rbx+0x10],xmm29 (66 W1 7E)", "62 61 fd 08 7e 6b 02"},
    {"vmovq xmm28,QWORD PTR [rbx+0x10] (F3 W1 7E)", "62 61 fe 08 7e 63 02"},
    {"vmovq QWORD PTR [rbx+0x10],xmm29 (66 W1 D6)", "62 61 fd 08 d6 6b 02"},
    {"vmovdqu64 zmm14,ZMMWORD PTR [rbx-0x40]", "62 71 fe 48 6f 73 ff"},
};

/* The stub's state record. */
struct state {
  uint8_t z[32][64]; /*    0: zmm0..31 */
  uint64_t k[8];     /* 2048: k0..k7 (k0 saved only) */
  uint64_t rbx, rsi; /* 2112, 2120 */
};
#define ST_K 2048
#define ST_RBX 2112
#define ST_RSI 2120

static uint8_t *code;
static int pos;
static void b1(int v) { code[pos++] = (uint8_t)v; }
static void b4(uint32_t v) {
  for (int i = 0; i < 4; i++)
    b1((int)(v >> (8 * i)) & 0xFF);
}
/* vmovdqu64 zmmN, [rdi+disp32] (6F) or the store (7F) */
static void zmm_move(int op, int n) {
  b1(0x62);
  b1((n & 8 ? 0 : 0x80) | 0x60 | (n & 16 ? 0 : 0x10) | 0x01);
  b1(0xFE);
  b1(0x48);
  b1(op);
  b1(0x80 | ((n & 7) << 3) | 7);
  b4((uint32_t)(64 * n));
}
/* kmovq kN, [rdi+disp32] (90) or the store (91) */
static void k_move(int op, int n) {
  b1(0xC4); b1(0xE1); b1(0xF8); b1(op);
  b1(0x80 | (n << 3) | 7);
  b4((uint32_t)(ST_K + 8 * n));
}

static void gen_stub(const uint8_t *insn, int n) {
  pos = 0;
  b1(0x53); /* push rbx */
  for (int k = 1; k < 8; k++)
    k_move(0x90, k);
  for (int z = 0; z < 32; z++)
    zmm_move(0x6F, z);
  b1(0x48); b1(0x8B); b1(0x9F); b4(ST_RBX); /* mov rbx, [rdi+RBX] */
  b1(0x48); b1(0x8B); b1(0xB7); b4(ST_RSI); /* mov rsi, [rdi+RSI] */
  memcpy(code + pos, insn, (size_t)n);
  pos += n;
  for (int z = 0; z < 32; z++)
    zmm_move(0x7F, z);
  for (int k = 0; k < 8; k++)
    k_move(0x91, k);
  b1(0x5B);                     /* pop rbx */
  b1(0xC5); b1(0xF8); b1(0x77); /* vzeroupper */
  b1(0xC3);
}

#define MEM 320
#define RBX_OFF 0x40
static uint8_t scratch[MEM] __attribute__((aligned(64)));
static long compared, empty_masks;

static uint64_t rand_mask(void) {
  switch (rng() % 5) {
  case 0:
    return 0;
  case 1:
    return ~(uint64_t)0;
  case 2:
    return (uint64_t)1 << (rng() % 64);
  default:
    return rng();
  }
}

static void ctx_from(struct mpsprot_context *ctx, const struct state *s) {
  for (int n = 0; n < 32; n++)
    step_zmm_put(ctx, n, s->z[n]);
  for (int k = 0; k < 8; k++)
    ctx->kregs[k] = s->k[k];
}

static void run_form(int f, long iters) {
  uint8_t insn[16];
  int n = parse_hex(forms[f].hex, MPSPROT_ARCH_X86_64, insn);
  gen_stub(insn, n);
  void (*stub)(struct state *) = (void (*)(struct state *))(uintptr_t)code;
  uint8_t *emem = region_alias + 0x1000;
  uint64_t ebase = (uint64_t)(uintptr_t)region_base + 0x1000;
  for (long it = 0; it < iters; it++) {
    struct state in, nat;
    memset(&in, 0, sizeof in);
    for (int z = 0; z < 32; z++)
      for (int b = 0; b < 64; b++)
        in.z[z][b] = (uint8_t)rng();
    for (int k = 1; k < 8; k++)
      in.k[k] = rand_mask();
    in.rsi = rng() % 4;
    uint8_t m0[MEM];
    for (int b = 0; b < MEM; b++)
      m0[b] = (uint8_t)rng();
    nat = in;
    nat.rbx = (uint64_t)(uintptr_t)scratch + RBX_OFF;
    memcpy(scratch, m0, MEM);
    stub(&nat);

    struct mpsprot_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.arch = MPSPROT_ARCH_X86_64;
    ctx.regs[3] = ebase + RBX_OFF;
    ctx.regs[6] = in.rsi;
    ctx_from(&ctx, &in);
    ctx.kregs[0] = nat.k[0]; /* not loaded: whatever the CPU held */
    ctx.flags = MPSPROT_CTX_VEXT | MPSPROT_CTX_AVX512;
    memcpy(ctx.insn, insn, (size_t)n);
    ctx.insn_len = 16;
    ctx.pc = 0x401000;
    ctx.slot = region_slot;
    memcpy(emem, m0, MEM);
    struct step_insn d;
    if (!step_x86_64_decode(&ctx, &d)) {
      CHECK(0, "%s: refused", forms[f].name);
      return;
    }
    if (d.mask == 0) { /* no element enabled: no access, so no fault to step */
      ctx.address = d.ea;
      ctx.access = d.access;
      CHECK(step_can(&ctx) == 0, "%s: an empty mask is refused", forms[f].name);
      CHECK(memcmp(scratch, m0, MEM) == 0, "%s: natively an empty mask writes nothing", forms[f].name);
      empty_masks++;
      continue;
    }
    int first = __builtin_ctzll(d.mask);
    ctx.address = d.ea + (uint64_t)(first * d.melem);
    ctx.access = d.access;
    struct mpsprot_log_entry e;
    int rc = step_do(&ctx, &e);
    if (rc != 0) {
      CHECK(0, "%s: step_do %d (mask %#llx)", forms[f].name, rc, (unsigned long long)d.mask);
      return;
    }
    compared++;
    CHECK(ctx.pc == 0x401000 + (uint64_t)n, "%s: pc", forms[f].name);
    CHECK(e.address == ctx.address, "%s: the log names the first enabled element", forms[f].name);
    int bad = 0;
    for (int z = 0; z < 32 && !bad; z++) {
      uint8_t got[64];
      step_zmm_get(&ctx, z, got);
      for (int b = 0; b < 64; b++)
        if (got[b] != nat.z[z][b]) {
          CHECK(0, "%s: zmm%d byte %d stepped %#x native %#x (in %#x, mask %#llx)", forms[f].name,
                z, b, got[b], nat.z[z][b], in.z[z][b], (unsigned long long)d.mask);
          bad = 1;
          break;
        }
    }
    for (int k = 0; k < 8 && !bad; k++)
      if (ctx.kregs[k] != nat.k[k] || (k > 0 && nat.k[k] != in.k[k])) {
        CHECK(0, "%s: k%d", forms[f].name, k);
        bad = 1;
      }
    for (int b = 0; b < MEM && !bad; b++)
      if (emem[b] != scratch[b]) {
        CHECK(0, "%s: memory byte %#x stepped %#x native %#x (before %#x, mask %#llx)",
              forms[f].name, b, emem[b], scratch[b], m0[b], (unsigned long long)d.mask);
        bad = 1;
      }
    if (bad)
      return;
  }
}

static struct mpsprot_context base_ctx(const char *hex, uint64_t rbx) {
  struct mpsprot_context ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.arch = MPSPROT_ARCH_X86_64;
  ctx.slot = region_slot;
  ctx.flags = MPSPROT_CTX_VEXT | MPSPROT_CTX_AVX512;
  ctx.insn_len = parse_hex(hex, MPSPROT_ARCH_X86_64, ctx.insn);
  ctx.regs[3] = rbx;
  ctx.address = rbx;
  ctx.access = MPSPROT_ACCESS_ALL;
  return ctx;
}

/* Masking against the region's end, refusals, the log. */
static void test_masks(void) {
  uint64_t end = (uint64_t)(uintptr_t)region_base + region_size;
  uint8_t *aend = region_alias + region_size;
  /* vmovdqu64 [rbx]{k7}, zmm0 with rbx = end - 24: elements 0..2 in the region, 3..7
   * past its end (another mapping, or none): enabled 0..2 only. */
  struct mpsprot_context ctx = base_ctx("62 f1 fe 4f 7f 03", end - 24);
  for (int b = 0; b < 64; b++)
    ctx.vregs[0][b % 16] = (uint8_t)(0x40 + b % 16);
  memset(ctx.vext[0], 0xEE, 16);
  ctx.kregs[7] = 0x05; /* elements 0 and 2 */
  memset(aend - 24, 0x11, 24);
  ctx.address = end - 8; /* element 2 faults */
  ctx.access = MPSPROT_ACCESS_WRITE;
  CHECK(step_can(&ctx) == 1, "masked store with masked-off elements past the region steps");
  struct mpsprot_log_entry e;
  CHECK(step_do(&ctx, &e) == 0, "masked store steps");
  CHECK(step_le_get(aend - 24, 8) == step_le_get(ctx.vregs[0], 8), "element 0 written");
  CHECK(step_le_get(aend - 16, 8) == 0x1111111111111111ull, "masked-off element 1 untouched");
  CHECK(step_le_get(aend - 8, 8) == step_le_get(ctx.vext[0], 8), "element 2 written");
  CHECK(e.address == end - 24 && e.size == 24 && e.access == MPSPROT_ACCESS_WRITE,
        "log: the enabled span (%#llx, %d)", (unsigned long long)(e.address - end), e.size);
  /* an enabled element past the end: refused */
  ctx = base_ctx("62 f1 fe 4f 7f 03", end - 24);
  ctx.kregs[7] = 0x09;
  ctx.access = MPSPROT_ACCESS_WRITE;
  CHECK(step_can(&ctx) == 0, "an enabled element outside the region is refused");
  /* the fault address in a masked-off element: refused (it cannot have faulted there) */
  ctx = base_ctx("62 f1 fe 4f 7f 03", end - 64);
  ctx.kregs[7] = 0x01;
  ctx.address = end - 56;
  ctx.access = MPSPROT_ACCESS_WRITE;
  CHECK(step_can(&ctx) == 0, "a fault address in a masked-off element is refused");
  ctx.address = end - 64;
  CHECK(step_can(&ctx) == 1, "a fault address in the enabled element steps");
  ctx.kregs[7] = 0;
  CHECK(step_can(&ctx) == 0, "an empty mask is refused");
  ctx.kregs[7] = 1;
  ctx.flags = MPSPROT_CTX_VEXT;
  CHECK(step_can(&ctx) == 0, "refused without the AVX-512 state in the context");
  /* a masked load whose masked-off elements lie before the region's start: merge */
  uint64_t start = (uint64_t)(uintptr_t)region_base;
  ctx = base_ctx("62 e1 7f 49 6f 03", start - 60); /* vmovdqu8 zmm16{k1}, [rbx] */
  memset(ctx.zmmx[0], 0xAB, 64);
  ctx.kregs[1] = 0xF000000000000000ull; /* bytes 60..63: region bytes 0..3 */
  ctx.address = start;
  ctx.access = MPSPROT_ACCESS_READ;
  memcpy(region_alias, "\x01\x02\x03\x04", 4);
  CHECK(step_do(&ctx, &e) == 0, "masked load before the region's start steps");
  CHECK(ctx.zmmx[0][59] == 0xAB && ctx.zmmx[0][60] == 1 && ctx.zmmx[0][63] == 4,
        "merge: masked-off bytes kept, enabled bytes loaded");
  CHECK(e.address == start && e.size == 4 && e.before == 0x04030201u, "log of the masked load");
  /* aligned forms: vmovdqa64 zmm needs 64-byte alignment (#GP otherwise), masked or not */
  ctx = base_ctx("62 f1 fd 49 6f 03", start + 0x1020); /* vmovdqa64 zmm0{k1}, [rbx] */
  ctx.kregs[1] = 0xFF;
  ctx.access = MPSPROT_ACCESS_READ;
  CHECK(step_can(&ctx) == 0, "vmovdqa64 zmm at a 32-byte boundary is refused");
  ctx.regs[3] = ctx.address = start + 0x1040;
  CHECK(step_can(&ctx) == 1, "vmovdqa64 zmm aligned steps");

  static const char *const refused[] = {
      "62 f1 fe 58 6f 03",    /* EVEX.b (broadcast) on a move: #UD */
      "62 f1 fe 68 6f 03",    /* L'L 11 */
      "62 f1 f6 48 6f 03",    /* vvvv not 1111 */
      "62 f1 fe 40 6f 03",    /* V' set */
      "62 f1 fe cf 7f 03",    /* {z} on a store: #UD */
      "62 f1 fe c8 6f 03",    /* {z} without a mask */
      "62 f1 7d 09 6e 03",    /* vmovd with a mask: #UD */
      "62 f1 7d 28 6e 03",    /* vmovd with L'L 01 */
      "62 f1 7c 48 10 c1",    /* register direct */
      "62 f2 fe 48 6f 03",    /* map 0F38 */
      "62 f9 fe 48 6f 03",    /* APX B4 (P0 bit 3) */
      "62 f1 fa 48 6f 03",    /* APX X4 (P1 bit 2 clear) */
      "62 f1 fc 48 10 03",    /* vmovups with W1 */
      "62 f1 7e 08 10 43",    /* truncated disp8 */
      "62 f1 f7 08 59 03",    /* vmulsd: EVEX arithmetic */
      "62 f2 7d 49 90 04 03", /* vpgatherdd: a gather */
      "66 62 f1 fe 48 6f 03", /* a prefix before EVEX: #UD */
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    struct mpsprot_context c = base_ctx(refused[i], start + 0x1000);
    c.insn_len = parse_hex(refused[i], MPSPROT_ARCH_X86_64, c.insn);
    struct step_insn d;
    CHECK(step_x86_64_decode(&c, &d) == 0, "%s must be refused", refused[i]);
  }
  /* disp8*N: vmovdqu64 zmm1, [rbx+0x40] is disp8 1 (N = 64); vmovss: N = 4 */
  struct mpsprot_context c = base_ctx("62 f1 fe 48 6f 4b 01", start);
  struct step_insn d;
  CHECK(step_x86_64_decode(&c, &d) && d.disp == 0x40 && d.ea == start + 0x40 && d.rt == 1
            && d.size == 64, "disp8*64");
  c = base_ctx("62 e1 7e 8c 10 6b 05", start);
  CHECK(step_x86_64_decode(&c, &d) && d.disp == 0x14 && d.size == 4 && d.rt == 21 && d.kreg == 4
            && d.zeroing, "vmovss xmm21{k4}{z}: disp8*4");
}

/* 3: real faults on a no-access STEP page (compiled for AVX-512, so that the asm may
 * name zmm16..31 and the opmasks; called only when the CPU has it). */
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void test_frame(void) {
  int64_t page = mpsprot_page_size(), o[4];
  int err = mpsprot_region_create(page, o);
  CHECK(err == 0, "region create: %d", err);
  if (err != 0)
    return;
  int slot = (int)o[0];
  uint8_t *p = (uint8_t *)(uintptr_t)o[1], *alias = (uint8_t *)(uintptr_t)o[2];
  int32_t rf;
  CHECK(mpsprot_region_set_policy(slot, MPSPROT_POLICY_STEP, MPSPROT_FALLBACK_FAIL_FAST) == 0,
        "policy STEP");
  CHECK(mpsprot_protect(slot, 0, page, MPSPROT_ACCESS_ALL, &rf) == 0, "protect no access");
  int64_t stepped0 = mpsprot_counter(MPSPROT_COUNT_STEPPED);
  int64_t unprot0 = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  static uint8_t pat[64] __attribute__((aligned(64))), pat2[64] __attribute__((aligned(64)));
  static uint8_t out[64] __attribute__((aligned(64))), out2[64] __attribute__((aligned(64)));
  uint8_t want[64];
  uint64_t kout = 0;
  int faults = 0;
  for (int i = 0; i < 64; i++) {
    pat[i] = (uint8_t)(0x10 + 3 * i);
    pat2[i] = (uint8_t)(0xC0 ^ i);
    alias[i] = (uint8_t)(0xA0 + i);
    alias[64 + i] = 0x77;
  }
  /* a. vmovdqu64 [p+64]{k7}, ymm0 (HotSpot's copy tail) with k7 = 0b0101 */
  uint64_t k7 = 5;
  __asm__ volatile("vmovdqu64 (%1), %%zmm0\n\t"
                   "kmovq (%2), %%k7\n\t"
                   "vmovdqu64 %%ymm0, 64(%0)%{%%k7%}\n\t"
                   "kmovq %%k7, (%3)\n\t"
                   "vzeroupper"
                   : : "r"(p), "r"(pat), "r"(&k7), "r"(&kout) : "xmm0", "k7", "memory");
  faults++;
  memset(want, 0x77, 32);
  memcpy(want, pat, 8);
  memcpy(want + 16, pat + 16, 8);
  CHECK(memcmp(alias + 64, want, 32) == 0, "masked ymm store wrote elements 0 and 2 only");
  CHECK(kout == 5, "k7 kept through the frame (%#llx)", (unsigned long long)kout);
  /* b. vmovdqu8 zmm17{k2}{z}, [p] with zmm17 and zmm25 set before: zmm17 loaded where
   * k2 is set, else zero; zmm25 keeps its value (Hi16_ZMM written back as a whole) */
  uint64_t k2 = 0x00FF00FF00FF00F0ull;
  __asm__ volatile("vmovdqu64 (%1), %%zmm17\n\t"
                   "vmovdqu64 (%2), %%zmm25\n\t"
                   "kmovq (%3), %%k2\n\t"
                   "vmovdqu8 (%0), %%zmm17%{%%k2%}%{z%}\n\t"
                   "vmovdqu64 %%zmm17, (%4)\n\t"
                   "vmovdqu64 %%zmm25, (%5)\n\t"
                   "vzeroupper"
                   : : "r"(p), "r"(pat), "r"(pat2), "r"(&k2), "r"(out), "r"(out2)
                   : "xmm17", "xmm25", "k2", "memory");
  faults++;
  for (int i = 0; i < 64; i++)
    want[i] = (k2 >> i) & 1 ? alias[i] : 0;
  CHECK(memcmp(out, want, 64) == 0, "vmovdqu8 zmm17{k2}{z} through the frame");
  CHECK(memcmp(out2, pat2, 64) == 0, "zmm25 keeps its value");
  /* c. vmovdqu64 zmm3, [p] unmasked: all 64 bytes, including bits 256..511 */
  __asm__ volatile("vmovdqu64 (%1), %%zmm3\n\t"
                   "vmovdqu64 (%0), %%zmm3\n\t"
                   "vmovdqu64 %%zmm3, (%2)\n\t"
                   "vzeroupper"
                   : : "r"(p), "r"(pat2), "r"(out) : "xmm3", "memory");
  faults++;
  CHECK(memcmp(out, alias, 64) == 0, "vmovdqu64 zmm3, [p] loads 64 bytes");
  /* d. vmovups [p+64], zmm29 unmasked store from Hi16_ZMM */
  __asm__ volatile("vmovdqu64 (%1), %%zmm29\n\t"
                   "vmovups %%zmm29, 64(%0)\n\t"
                   "vzeroupper"
                   : : "r"(p), "r"(pat) : "xmm29", "memory");
  faults++;
  CHECK(memcmp(alias + 64, pat, 64) == 0, "vmovups [p+64], zmm29 stores 64 bytes");
  int64_t stepped = mpsprot_counter(MPSPROT_COUNT_STEPPED) - stepped0;
  CHECK(stepped == faults, "stepped %lld of %d faults", (long long)stepped, faults);
  CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) == unprot0, "no fault fell back to unprotect");
  struct mpsprot_log_entry e[8];
  int got = mpsprot_log_drain(slot, e, 8);
  CHECK(got == faults, "every access is in the log (%d)", got);
  if (got >= 1)
    CHECK(e[0].address == (uint64_t)(uintptr_t)p + 64 && e[0].size == 24,
          "the masked store's log entry: its enabled span");
  CHECK(mpsprot_region_destroy(slot) == 0, "destroy");
}

/* 4. prmc_capture / prmc_restore over a made-up signal frame: the XSAVE components at
 * CPUID's offsets are read (zero where xstate_bv's bit is clear) and written back with
 * their bit set; a frame that lacks one of the AVX-512 components sets neither flag. */
static uint8_t frame_insn[64] = {0x62, 0xf1, 0xfe, 0x4f, 0x7f, 0x03}; /* vmovdqu64 [rbx]{k7}, zmm0 */
static uint8_t xbuf[16384] __attribute__((aligned(64)));

static uint32_t cpuid_d(int i) {
  unsigned a, b, c, d;
  __cpuid_count(0xD, i, a, b, c, d);
  (void)a;
  (void)c;
  (void)d;
  return b;
}

static void make_frame(ucontext_t *uc, siginfo_t *si, uint64_t features, uint64_t bv) {
  uint32_t size = cpuid_d(0); /* the XSAVE area of XCR0's features */
  memset(xbuf, 0, sizeof xbuf);
  uint32_t m1 = 0x46505853u, m2 = 0x46505845u;
  memcpy(xbuf + 464, &m1, 4);
  memcpy(xbuf + 472, &features, 8);
  memcpy(xbuf + 480, &size, 4);
  memcpy(xbuf + size, &m2, 4);
  memcpy(xbuf + 512, &bv, 8);
  memset(uc, 0, sizeof *uc);
  memset(si, 0, sizeof *si);
  uc->uc_mcontext.fpregs = (fpregset_t)(void *)xbuf;
  uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)frame_insn;
  uc->uc_mcontext.gregs[REG_TRAPNO] = 14;
  uc->uc_mcontext.gregs[REG_ERR] = 2 | 4; /* a user-mode write */
  si->si_addr = (void *)0x10000;
}

static void test_capture(void) {
  uint32_t ok = cpuid_d(5), zh = cpuid_d(6), hi = cpuid_d(7);
  CHECK(cpuid_d(0) + 4 <= sizeof xbuf && ok && zh && hi, "CPUID gives the components' offsets");
  ucontext_t uc;
  siginfo_t si;
  static struct mpsprot_context ctx;
  /* every component present, Hi16_ZMM in its initial state (bit 7 clear) */
  make_frame(&uc, &si, 0xE7, 0x67);
  for (int i = 0; i < 64; i++)
    xbuf[ok + i] = (uint8_t)(0x30 + i);
  for (int i = 0; i < 512; i++)
    xbuf[zh + i] = (uint8_t)(0x90 ^ i);
  memset(xbuf + hi, 0x5A, 1024); /* ignored: bit 7 clear */
  CHECK(prmc_capture(&ctx, &si, &uc) == PRMC_DATA, "capture");
  CHECK((ctx.flags & (MPSPROT_CTX_VEXT | MPSPROT_CTX_AVX512)) == (MPSPROT_CTX_VEXT | MPSPROT_CTX_AVX512),
        "capture: the AVX-512 state (flags %#x)", ctx.flags);
  CHECK(ctx.kregs[7] == step_le_get(xbuf + ok + 56, 8) && ctx.zmmh[2][0] == (uint8_t)(0x90 ^ 64),
        "capture: opmask and ZMM_Hi256 from their CPUID offsets");
  uint8_t zero[64] = {0};
  CHECK(memcmp(ctx.zmmx[5], zero, 64) == 0, "capture: Hi16_ZMM whose xstate_bv bit is clear reads 0");
  /* restore: a changed zmm17 and k2 are written back, bit 7 set */
  memset(ctx.zmmx[1], 0xC3, 64);
  ctx.kregs[2] = 0x1234;
  ctx.flags |= MPSPROT_CTX_STEPPED;
  prmc_restore(&uc, &ctx);
  uint64_t bv;
  memcpy(&bv, xbuf + 512, 8);
  CHECK((bv & 0xE0) == 0xE0, "restore: the AVX-512 bits set (%#llx)", (unsigned long long)bv);
  CHECK(xbuf[hi + 64] == 0xC3 && xbuf[hi + 127] == 0xC3 && xbuf[hi] == 0 && xbuf[hi + 128] == 0,
        "restore: zmm17 written, zmm16 and zmm18 zero (their initial state)");
  CHECK(step_le_get(xbuf + ok + 16, 8) == 0x1234, "restore: k2 written");
  /* a frame without Hi16_ZMM (or without the opmask) while XCR0 enables AVX-512 */
  make_frame(&uc, &si, 0x67, 0x67);
  CHECK(prmc_capture(&ctx, &si, &uc) == PRMC_DATA && (ctx.flags & (MPSPROT_CTX_VEXT | MPSPROT_CTX_AVX512)) == 0,
        "no Hi16_ZMM in the frame: neither flag");
  make_frame(&uc, &si, 0xC7, 0x47);
  CHECK(prmc_capture(&ctx, &si, &uc) == PRMC_DATA && (ctx.flags & (MPSPROT_CTX_VEXT | MPSPROT_CTX_AVX512)) == 0,
        "no opmask in the frame: neither flag");
  ctx.slot = region_slot;
  CHECK(step_can(&ctx) == 0, "and the EVEX store is refused");
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? atol(argv[1]) : 2000;
  alarm(120);
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")
      || !__builtin_cpu_supports("avx512vl")) {
    printf("test_step_evex_x86_64: SKIPPED: the CPU lacks AVX-512 F, BW or VL\n");
    return 0;
  }
  CHECK(mpsprot_setup() == 0, "setup");
  region_setup();
  code = mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) {
    printf("test_step_evex_x86_64: SKIPPED: no writable executable page (mmap)\n");
    return 0;
  }
  size_t nforms = sizeof forms / sizeof forms[0];
  for (size_t f = 0; f < nforms; f++)
    run_form((int)f, iters);
  test_masks();
  test_capture();
  test_frame();
  printf("x86-64 EVEX forms: %zu, %ld native/stepped comparisons (%ld empty masks refused)\n",
         nforms, compared, empty_masks);
  mpsprot_region_destroy(region_slot);
  return check_report("test_step_evex_x86_64");
}
#else
int main(void) {
  printf("test_step_evex_x86_64: SKIPPED: not an x86-64 host\n");
  return 0;
}
#endif
