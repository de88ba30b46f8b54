/* prmc_aarch64.c -- the CPU seam (prmc.h) for aarch64 Linux
 *
 * Assumes glibc's aarch64 mcontext_t (regs[31], sp, pc, and the kernel's extension
 * records in __reserved[4096]) and the record formats of the kernel UAPI
 * (arch/arm64/include/uapi/asm/sigcontext.h).  The magic numbers and the byte offsets
 * used here are defined locally, so that the file builds against any header version:
 *   every record starts with a header {u32 magic; u32 size}, size counting the header,
 *   records are 16-byte aligned, and a header with magic 0 (and size 0) ends the list;
 *   FPSIMD (0x46508001): fpsr, fpcr, then v0..v31 (16 bytes each) at offset 16;
 *   ESR    (0x45535201): the ESR_EL1 value of the fault (u64) at offset 8;
 *   SVE    (0x53564501): vl (u16, bytes) at offset 8; when the size exceeds the 16-byte
 *          header, z0..z31 (vl bytes each) from offset 16;
 *   EXTRA  (0x45585401): datap (u64) at offset 8 and size (u32) at offset 16: more
 *          records in a block outside __reserved, walked after __reserved's terminator.
 * The walk is defensive: a record whose size is below the header, not a multiple of 16
 * or past the end of its block ends it; records with unknown magic are skipped; at most
 * A64_WALK_MAX records are looked at.
 *
 * The access kind: when the kernel delivers an ESR record (it does for faults on real
 * hardware) and its exception class (bits 31..26) is a data abort (0x24 from EL0, 0x25),
 * the WnR bit (6) tells a write from a read and MPSPROT_CTX_ESR is set; an instruction
 * abort (0x20, 0x21) is PRMC_NOT_DATA.  Without a usable ESR record (qemu-user delivers
 * none), the instruction at pc tells (step_aarch64_access_kind); when it does not
 * either, the access is READ|WRITE, as MPS assumes on every Linux fault.  Without ESR,
 * a fault whose address lies on pc's own page is an instruction fetch: the handler calls
 * this only for the module's region pages, which are never executable (.rule.noexec), so
 * no instruction can have been fetched from that page; the page is then possibly not
 * readable, so it is not read.
 *
 * The instruction bytes: the 4 bytes at pc, read directly.  The CPU has just fetched
 * them, and Linux maps code readable (ld.so's segments, JIT code caches).  An
 * execute-only mapping (PROT_EXEC without PROT_READ, honoured by some arm64 kernels)
 * would make this read fault inside the handler: such code is not supported.
 *
 * The vector registers: v0..v15 (vregs) and v16..v31 (vext, MPSPROT_CTX_VEXT) are copied
 * from the FPSIMD record.  prmc_restore writes
 * back those that changed, or that a stepped SIMD&FP load defined, into the FPSIMD
 * record and, when an SVE record carries register data, into the low 16 bytes of the
 * matching Z register with its upper bytes zeroed (an AdvSIMD/FP write of a V register
 * zeroes the rest of Z).  Both records are written because which one the signal return
 * takes when both are present differs between kernel versions and qemu-user (qemu 7.2
 * restores the SVE record after the FPSIMD one).
 *
 * Async-signal-safe: no allocation, no locks; memcpy, memcmp and the gettid system call.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* the plain field names of mcontext_t */
#endif
#include "prmc.h"
#include "protos.h"
#include "step.h"
#include "step_internal.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define A64_REC_FPSIMD_MAGIC 0x46508001u
#define A64_REC_ESR_MAGIC 0x45535201u
#define A64_REC_SVE_MAGIC 0x53564501u
#define A64_REC_EXTRA_MAGIC 0x45585401u

#define A64_REC_HEAD 8u
#define A64_FPSIMD_VREGS 16u                  /* offset of v0 */
#define A64_FPSIMD_SIZE (A64_FPSIMD_VREGS + 32u * 16u)
#define A64_ESR_VALUE 8u
#define A64_ESR_SIZE 16u
#define A64_SVE_VL 8u
#define A64_SVE_ZREGS 16u                     /* offset of z0 */
#define A64_SVE_VL_MAX 256u                   /* 2048 bits, the architectural maximum */
#define A64_EXTRA_DATAP 8u
#define A64_EXTRA_BYTES 16u
#define A64_EXTRA_SIZE 32u
#define A64_EXTRA_MAX ((size_t)1 << 20)       /* larger than any SVE/SME frame */
#define A64_WALK_MAX 64

/* ESR_ELx fields (Arm ARM D17.2.37). */
#define A64_ESR_EC(esr) (((esr) >> 26) & 0x3Fu)
#define A64_ESR_EC_IABT_LOWER 0x20u
#define A64_ESR_EC_IABT_SAME 0x21u
#define A64_ESR_EC_DABT_LOWER 0x24u
#define A64_ESR_EC_DABT_SAME 0x25u
#define A64_ESR_WNR ((uint64_t)1 << 6)

#define NVREGS 32 /* v0..v15 in the context's vregs, v16..v31 in its vext */

struct frame_records {
  unsigned char *fpsimd; /* NULL when absent */
  unsigned char *esr;
  unsigned char *sve;    /* only when it carries z0..z31 */
  size_t sve_vl;         /* bytes per Z register */
};

static uint32_t get32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static uint64_t get64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static void note_record(struct frame_records *f, unsigned char *rec, uint32_t magic,
                        size_t size, unsigned char **extra, size_t *extra_len) {
  switch (magic) {
  case A64_REC_FPSIMD_MAGIC:
    if (f->fpsimd == NULL && size >= A64_FPSIMD_SIZE)
      f->fpsimd = rec;
    break;
  case A64_REC_ESR_MAGIC:
    if (f->esr == NULL && size >= A64_ESR_SIZE)
      f->esr = rec;
    break;
  case A64_REC_SVE_MAGIC: {
    size_t vl = (size_t)(get32(rec + A64_SVE_VL) & 0xFFFFu);
    if (f->sve == NULL && vl >= 16 && vl <= A64_SVE_VL_MAX && vl % 16 == 0
        && size >= A64_SVE_ZREGS + 32u * vl) {
      f->sve = rec;
      f->sve_vl = vl;
    }
    break;
  }
  case A64_REC_EXTRA_MAGIC:
    if (*extra == NULL && size >= A64_EXTRA_SIZE) {
      uint64_t datap = get64(rec + A64_EXTRA_DATAP);
      size_t bytes = (size_t)get32(rec + A64_EXTRA_BYTES);
      if (datap != 0 && datap % 16 == 0 && bytes >= A64_REC_HEAD && bytes <= A64_EXTRA_MAX) {
        *extra = (unsigned char *)(uintptr_t)datap;
        *extra_len = bytes;
      }
    }
    break;
  default:
    break;
  }
}

/* Finds the records of the signal frame: __reserved first, then the extra block if
 * __reserved names one. */
static void find_records(ucontext_t *uc, struct frame_records *f) {
  memset(f, 0, sizeof *f);
  unsigned char *block = uc->uc_mcontext.__reserved;
  size_t len = sizeof uc->uc_mcontext.__reserved, off = 0;
  unsigned char *extra = NULL;
  size_t extra_len = 0;
  int in_extra = 0;
  for (int n = 0; n < A64_WALK_MAX; n++) {
    if (len - off < A64_REC_HEAD)
      break;
    uint32_t magic = get32(block + off);
    size_t size = (size_t)get32(block + off + 4);
    if (magic == 0) { /* the terminator: go on in the extra block, once */
      if (in_extra || extra == NULL)
        break;
      block = extra;
      len = extra_len;
      off = 0;
      in_extra = 1;
      continue;
    }
    if (size < A64_REC_HEAD || size % 16 != 0 || size > len - off)
      break;
    note_record(f, block + off, magic, size, &extra, &extra_len);
    off += size;
  }
}

int prmc_capture(struct mpsprot_context *ctx, const siginfo_t *info, ucontext_t *uc) {
  const mcontext_t *mc = &uc->uc_mcontext;
  ctx->address = (uint64_t)(uintptr_t)info->si_addr;
  ctx->pc = (uint64_t)mc->pc;
  ctx->sp = (uint64_t)mc->sp;
  ctx->arch = MPSPROT_ARCH_AARCH64;
  ctx->slot = -1;
  ctx->flags = 0;
  ctx->ucontext = (uint64_t)(uintptr_t)uc;
  ctx->tid = (int32_t)syscall(SYS_gettid);
  for (int i = 0; i < 31; i++)
    ctx->regs[i] = (uint64_t)mc->regs[i];
  ctx->regs[31] = (uint64_t)mc->sp;

  struct frame_records f;
  find_records(uc, &f);
  if (f.fpsimd != NULL) {
    memcpy(ctx->vregs, f.fpsimd + A64_FPSIMD_VREGS, sizeof ctx->vregs);
    memcpy(ctx->vext, f.fpsimd + A64_FPSIMD_VREGS + sizeof ctx->vregs, sizeof ctx->vext);
    ctx->flags |= MPSPROT_CTX_VEXT; /* v16..v31 */
  } else {
    memset(ctx->vregs, 0, sizeof ctx->vregs);
    memset(ctx->vext, 0, sizeof ctx->vext);
  }

  ctx->access = 0;
  if (f.esr != NULL) {
    uint64_t esr = get64(f.esr + A64_ESR_VALUE);
    unsigned ec = (unsigned)A64_ESR_EC(esr);
    if (ec == A64_ESR_EC_IABT_LOWER || ec == A64_ESR_EC_IABT_SAME)
      return PRMC_NOT_DATA;
    if (ec == A64_ESR_EC_DABT_LOWER || ec == A64_ESR_EC_DABT_SAME) {
      ctx->access = (esr & A64_ESR_WNR) ? MPSPROT_ACCESS_WRITE : MPSPROT_ACCESS_READ;
      ctx->flags |= MPSPROT_CTX_ESR;
    }
  }
  uint64_t page_mask = ~(uint64_t)(protos_page_size() - 1);
  if (ctx->access == 0 && (ctx->pc & page_mask) == (ctx->address & page_mask))
    return PRMC_NOT_DATA; /* a fetch from the faulting page (see above) */

  memset(ctx->insn, 0, sizeof ctx->insn);
  ctx->insn_len = 0;
  if ((ctx->pc & 3) == 0) { /* else the CPU could not have fetched it */
    memcpy(ctx->insn, (const void *)(uintptr_t)ctx->pc, 4);
    ctx->insn_len = 4;
  }
  if (ctx->access == 0) {
    int kind = 0;
    if (ctx->insn_len == 4)
      kind = step_aarch64_access_kind(get32(ctx->insn));
    ctx->access = kind != 0 ? kind : MPSPROT_ACCESS_READ | MPSPROT_ACCESS_WRITE;
  }
  return PRMC_DATA;
}

/* Marks in *defined the vector registers a stepped SIMD&FP load wrote (ctx->insn still
 * holds the stepped instruction). */
static void stepped_vector_loads(const struct mpsprot_context *ctx, int defined[NVREGS]) {
  memset(defined, 0, NVREGS * sizeof defined[0]);
  if (!(ctx->flags & MPSPROT_CTX_STEPPED))
    return;
  struct step_insn d;
  if (!step_aarch64_decode(ctx, &d) || d.op != STEP_OP_LOAD_V)
    return;
  if (d.rt >= 0 && d.rt < NVREGS)
    defined[d.rt] = 1;
  if (d.nregs == 2 && d.rt2 >= 0 && d.rt2 < NVREGS)
    defined[d.rt2] = 1;
}

void prmc_restore(ucontext_t *uc, const struct mpsprot_context *ctx) {
  mcontext_t *mc = &uc->uc_mcontext;
  for (int i = 0; i < 31; i++)
    mc->regs[i] = ctx->regs[i];
  mc->sp = ctx->regs[31];
  mc->pc = ctx->pc;

  struct frame_records f;
  find_records(uc, &f);
  if (f.fpsimd == NULL)
    return;
  int defined[NVREGS];
  stepped_vector_loads(ctx, defined);
  for (int n = 0; n < NVREGS; n++) {
    unsigned char *v = f.fpsimd + A64_FPSIMD_VREGS + 16u * (unsigned)n;
    const uint8_t *mine = n < 16 ? ctx->vregs[n] : ctx->vext[n - 16];
    if (n >= 16 && !(ctx->flags & MPSPROT_CTX_VEXT))
      break; /* v16..v31 were not captured */
    if (!defined[n] && memcmp(v, mine, 16) == 0)
      continue; /* unchanged: leave the upper bits of Z as they are */
    memcpy(v, mine, 16);
    if (f.sve != NULL) {
      unsigned char *z = f.sve + A64_SVE_ZREGS + f.sve_vl * (size_t)n;
      memcpy(z, mine, 16);
      memset(z + 16, 0, f.sve_vl - 16);
    }
  }
}
