/* prmc_x86_64.c -- the CPU seam (prmc.h) for x86-64 Linux
 *
 * Assumes glibc's ucontext_t layout (gregs indexed by REG_*, fpregs pointing at the
 * FXSAVE image the kernel saved on the signal frame).  What the x86-64 files share (the
 * register order, the page-fault error code, the instruction copy) is prmc_x86_64.h.
 *
 * The access kind: the kernel passes the page-fault error code in gregs[REG_ERR] when
 * gregs[REG_TRAPNO] is 14 (#PF); prmc_x86_64_pf_access reads it (a write, a read, or an
 * instruction fetch, PRMC_NOT_DATA).  For any other trap (or no trap number) the kind
 * cannot be told and the access is READ|WRITE, as MPS assumes on every Linux fault.
 *
 * The instruction bytes: those on pc's page are copied directly (prmc_x86_64.h).  If
 * that gives fewer than 16 bytes, the rest is read with process_vm_readv on our own
 * process, which returns a short count (or EFAULT) for an unreadable page instead of
 * faulting; if that call is refused (seccomp, ENOSYS) insn_len stays at the bytes up to
 * the end of the page.  So the copy never faults and insn_len is the number of valid
 * bytes, 1..16.
 *
 * The upper vector state (ctx->vext, MPSPROT_CTX_VEXT): the kernel saves the extended
 * state with XSAVE (standard, uncompacted format) right after the 512-byte FXSAVE image
 * that fpregs points at, and says so in the image's software-reserved bytes 464..511
 * (struct _fpx_sw_bytes: magic1 0x46505853, extended_size, xfeatures, xstate_size) with
 * magic2 0x46505845 at fpregs + xstate_size.  The XSAVE header (xstate_bv, u64) is at
 * offset 512; state component i lies at the offset CPUID.(EAX=0DH,ECX=i).EBX gives (it
 * differs between vendors: the AVX-512 ZMM_Hi256 component is at 1152 on Intel, 896 on
 * AMD), cached on first use.  A component whose xstate_bv bit is clear is in its initial
 * state (zero) whatever its bytes hold, and XRSTOR at sigreturn ignores bytes whose bit is
 * clear: so capture reads zeros for it, and restore sets the bit when it writes the
 * component.  vext is filled (and the flag set) only when the frame has the magics, the
 * AVX component (2: bits 128..255 of ymm0..15) and, when XCR0 enables AVX-512, the
 * ZMM_Hi256 component (6: bits 256..511 of zmm0..15), which a stepped VEX load must zero.
 * Otherwise (no XSAVE, a frame built by something other than the kernel) the flag stays
 * clear and the stepper refuses what needs it.  When XCR0 enables AVX-512, the opmask
 * (5: k0..k7) and Hi16_ZMM (7: zmm16..31) components must be in the frame too; all three
 * go to ctx->zmmh, zmmx, kregs (MPSPROT_CTX_AVX512, the EVEX forms need it) and are
 * written back, with their xstate_bv bits, when a step changed them.
 *
 * MXCSR (regs[17], MPSPROT_CTX_MXCSR) is the FXSAVE image's: a stepped scalar SSE/VEX
 * arithmetic operation runs under it and ORs in the exception flags it raised
 * (step_x86_64_fp.c); restore writes it back when it changed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* REG_* of ucontext_t, dladdr */
#endif
#include "prmc.h"
#include "prmc_x86_64.h"
#include "step_internal.h"

#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define XS_SW_BYTES 464     /* struct _fpx_sw_bytes in the FXSAVE image */
#define XS_MAGIC1 0x46505853u
#define XS_MAGIC2 0x46505845u
#define XS_HEADER 512       /* xstate_bv */
#define XS_MAX_SIZE ((uint32_t)1 << 20)
#define XS_AVX 2            /* YMM_Hi128: 16 x 16 bytes */
#define XS_OPMASK 5         /* k0..k7: 8 x 8 bytes */
#define XS_ZMM_HI256 6      /* 16 x 32 bytes */
#define XS_HI16_ZMM 7       /* zmm16..31: 16 x 64 bytes */
#define XS_AVX512 ((1u << XS_OPMASK) | (1u << XS_ZMM_HI256) | (1u << XS_HI16_ZMM))

/* CPUID leaf 0DH's offsets of the components in the standard format, 0 if unknown;
 * computed once (racing first uses compute the same values). */
static uint32_t xs_offset(int component) {
  static uint32_t cache[8];
  uint32_t off = __atomic_load_n(&cache[component], __ATOMIC_RELAXED);
  if (off == 0) {
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xD), "c"(component));
    off = b;
    __atomic_store_n(&cache[component], off, __ATOMIC_RELAXED);
  }
  return off;
}

static uint64_t xcr0(void) {
  uint32_t lo, hi;
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" /* xgetbv */ : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t)hi << 32 | lo;
}

struct xframe {
  uint8_t *bv;  /* the XSAVE header's xstate_bv */
  uint8_t *avx; /* component 2 */
  uint8_t *zmm; /* component 6, or NULL when the OS does not enable AVX-512 */
  uint8_t *kmask; /* component 5 (with zmm) */
  uint8_t *hi16;  /* component 7 (with zmm) */
};

/* Component i of the frame at its CPUID offset, n bytes: NULL when the frame lacks it. */
static uint8_t *xs_component(uint8_t *fp, uint64_t features, uint32_t size, int i, uint32_t n) {
  uint32_t off = xs_offset(i);
  if (!(features & (1u << i)) || off < XS_HEADER + 64 || off + n > size)
    return NULL;
  return fp + off;
}

/* Finds the AVX (and ZMM_Hi256) components in the signal frame: 1, or 0 when the frame
 * lacks them. */
static int find_xstate(const ucontext_t *uc, struct xframe *x) {
  uint8_t *fp = (uint8_t *)uc->uc_mcontext.fpregs;
  if (fp == NULL)
    return 0;
  uint32_t magic1, size;
  uint64_t features;
  memcpy(&magic1, fp + XS_SW_BYTES, 4);
  memcpy(&features, fp + XS_SW_BYTES + 8, 8);
  memcpy(&size, fp + XS_SW_BYTES + 16, 4);
  if (magic1 != XS_MAGIC1 || size < XS_HEADER + 64 || size > XS_MAX_SIZE)
    return 0;
  uint32_t magic2;
  memcpy(&magic2, fp + size, 4);
  if (magic2 != XS_MAGIC2 || !(features & (1u << XS_AVX)))
    return 0;
  uint32_t avx = xs_offset(XS_AVX);
  if (avx < XS_HEADER + 64 || avx + 256 > size)
    return 0;
  x->bv = fp + XS_HEADER;
  x->avx = fp + avx;
  x->zmm = x->kmask = x->hi16 = NULL;
  /* XCR0 enables the three AVX-512 components together (else XSETBV faults). */
  if (xcr0() & (1u << XS_ZMM_HI256)) {
    x->zmm = xs_component(fp, features, size, XS_ZMM_HI256, 512);
    x->kmask = xs_component(fp, features, size, XS_OPMASK, 64);
    x->hi16 = xs_component(fp, features, size, XS_HI16_ZMM, 1024);
    if (x->zmm == NULL || x->kmask == NULL || x->hi16 == NULL)
      return 0;
  }
  return 1;
}

static uint64_t xs_bv(const struct xframe *x) {
  uint64_t bv;
  memcpy(&bv, x->bv, 8);
  return bv;
}

static size_t read_rest(uint8_t *dst, uintptr_t src, size_t n) {
  struct iovec local = {dst, n};
  struct iovec remote = {(void *)src, n};
  long got = syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L);
  return got > 0 ? (size_t)got : 0;
}

int prmc_capture(struct mpsprot_context *ctx, const siginfo_t *info, ucontext_t *uc) {
  const greg_t *g = uc->uc_mcontext.gregs;
  ctx->address = (uint64_t)(uintptr_t)info->si_addr;
  ctx->pc = (uint64_t)g[REG_RIP];
  ctx->sp = (uint64_t)g[REG_RSP];
  ctx->arch = MPSPROT_ARCH_X86_64;
  ctx->slot = -1;
  ctx->flags = 0;
  ctx->ucontext = (uint64_t)(uintptr_t)uc;
  ctx->tid = osdep_thread_id();

  if (prmc_x86_64_pf_access((uint64_t)g[REG_TRAPNO], (uint64_t)g[REG_ERR], &ctx->access)
      == PRMC_NOT_DATA)
    return PRMC_NOT_DATA;

  memset(ctx->regs, 0, sizeof ctx->regs);
#define GET(i, lx, dw, win) ctx->regs[i] = (uint64_t)g[lx];
  PRMC_X86_64_REGS(GET)
#undef GET
  if (uc->uc_mcontext.fpregs != NULL) {
    memcpy(ctx->vregs, uc->uc_mcontext.fpregs->_xmm, sizeof ctx->vregs);
    ctx->regs[STEP_X86_MXCSR] = uc->uc_mcontext.fpregs->mxcsr;
    ctx->flags |= MPSPROT_CTX_MXCSR;
  } else
    memset(ctx->vregs, 0, sizeof ctx->vregs);
  struct xframe x;
  memset(ctx->vext, 0, sizeof ctx->vext);
  memset(ctx->zmmh, 0, sizeof ctx->zmmh);
  memset(ctx->zmmx, 0, sizeof ctx->zmmx);
  memset(ctx->kregs, 0, sizeof ctx->kregs);
  if (find_xstate(uc, &x)) {
    uint64_t bv = xs_bv(&x);
    if (bv & (1u << XS_AVX))
      memcpy(ctx->vext, x.avx, sizeof ctx->vext);
    ctx->flags |= MPSPROT_CTX_VEXT;
    if (x.zmm != NULL) { /* a component whose xstate_bv bit is clear is zero */
      if (bv & (1u << XS_ZMM_HI256))
        memcpy(ctx->zmmh, x.zmm, sizeof ctx->zmmh);
      if (bv & (1u << XS_HI16_ZMM))
        memcpy(ctx->zmmx, x.hi16, sizeof ctx->zmmx);
      if (bv & (1u << XS_OPMASK))
        memcpy(ctx->kregs, x.kmask, sizeof ctx->kregs);
      ctx->flags |= MPSPROT_CTX_AVX512;
    }
  }

  prmc_x86_64_copy_insn(ctx, read_rest);
  return PRMC_DATA;
}

void prmc_restore(ucontext_t *uc, const struct mpsprot_context *ctx) {
  greg_t *g = uc->uc_mcontext.gregs;
#define SET(i, lx, dw, win) g[lx] = (greg_t)ctx->regs[i];
  PRMC_X86_64_REGS(SET)
#undef SET
  g[REG_RIP] = (greg_t)ctx->pc;
  if (uc->uc_mcontext.fpregs == NULL)
    return;
  /* MXCSR (a stepped SSE/VEX arithmetic operation sets sticky flags): restored by XRSTOR
   * whenever the SSE or AVX feature is requested, whatever xstate_bv says. */
  if ((ctx->flags & MPSPROT_CTX_MXCSR) && uc->uc_mcontext.fpregs->mxcsr != (uint32_t)ctx->regs[STEP_X86_MXCSR])
    uc->uc_mcontext.fpregs->mxcsr = (uint32_t)ctx->regs[STEP_X86_MXCSR];
  int xmm_changed = memcmp(uc->uc_mcontext.fpregs->_xmm, ctx->vregs, sizeof ctx->vregs) != 0;
  if (xmm_changed)
    memcpy(uc->uc_mcontext.fpregs->_xmm, ctx->vregs, sizeof ctx->vregs);
  struct xframe x;
  if (!(ctx->flags & MPSPROT_CTX_VEXT) || !find_xstate(uc, &x))
    return;
  uint64_t bv = xs_bv(&x), set = xmm_changed ? (1u << 1) : 0; /* 1: SSE */
  static const uint8_t zero[sizeof ctx->vext];
  const uint8_t *now = (bv & (1u << XS_AVX)) ? x.avx : zero;
  if (memcmp(now, ctx->vext, sizeof ctx->vext) != 0) {
    memcpy(x.avx, ctx->vext, sizeof ctx->vext);
    set |= 1u << XS_AVX;
  }
  /* AVX-512: bits 256..511 of zmm0..15 (a stepped VEX load zeroes them, an EVEX load
   * writes them), zmm16..31 and the opmasks, each written back when it changed. */
  if (x.zmm != NULL && (ctx->flags & MPSPROT_CTX_AVX512)) {
    static const uint8_t zero512[sizeof ctx->zmmx];
    const struct {
      int bit;
      uint8_t *frame;
      const void *want;
      size_t n;
    } comp[3] = {{XS_ZMM_HI256, x.zmm, ctx->zmmh, sizeof ctx->zmmh},
                 {XS_HI16_ZMM, x.hi16, ctx->zmmx, sizeof ctx->zmmx},
                 {XS_OPMASK, x.kmask, ctx->kregs, sizeof ctx->kregs}};
    for (int i = 0; i < 3; i++) {
      const uint8_t *cur = (bv & (1u << comp[i].bit)) ? comp[i].frame : zero512;
      if (memcmp(cur, comp[i].want, comp[i].n) != 0) {
        memcpy(comp[i].frame, comp[i].want, comp[i].n);
        set |= 1u << comp[i].bit;
      }
    }
  }
  if (set != 0) {
    bv |= set;
    memcpy(x.bv, &bv, 8);
  }
}
