/* step.c -- instruction stepping (MPS: ProtCanStepInstruction / ProtStepInstruction):
 * the architecture dispatch, the region check, and the access through the alias view
 *
 * A fault is stepped only when all of these hold (step_can):
 * - the context's decoder (ctx->arch) accepts the instruction (step_<arch>.c);
 * - the fault address lies inside the bytes the instruction accesses,
 *   [ea, ea + size).  Usually it is ea itself; an access that crosses into a protected
 *   page faults at the first byte of that page, which is still inside;
 * - if the context names one access kind (READ or WRITE, not both), the instruction's
 *   kind agrees with it (a disagreement means the bytes are not what faulted);
 * - region_pin(ctx->address) is ctx->slot, and every byte of [ea, ea + size) lies in
 *   that region's [base, limit): the emulated access never touches memory outside the
 *   region, whose alias view is always readable and writable.
 * step_do then holds the pin while it reads or writes memory at alias + (ea - base), so
 * the region cannot be unmapped underneath it.
 *
 * Memory is accessed register by register (a pair is two accesses, as on the hardware):
 * an access of 1, 2, 4 or 8 bytes at an address aligned to its size is a single volatile
 * load or store of that width (single-copy atomic, as the mutator's own instruction would
 * have been); any other access (unaligned, or 16 bytes) is a memcpy of exactly its bytes.
 *
 * Assumes: little-endian (x86-64, aarch64 Linux); the mutator's view and the alias view
 * map the same pages (region.h).  Async-signal-safe: no allocation, no locks, no stdio.
 */
#include "step.h"
#include "region.h"
#include "step_internal.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "step assumes little-endian");
_Static_assert(sizeof(struct mpsprot_context) == 2440, "mpsprot.h's layout (ContextImpl.SIZE)");
_Static_assert(offsetof(struct mpsprot_context, zmmh) == 840, "mpsprot.h's layout");
_Static_assert(offsetof(struct mpsprot_context, zmmx) == 1352, "mpsprot.h's layout");
_Static_assert(offsetof(struct mpsprot_context, kregs) == 2376, "mpsprot.h's layout");
_Static_assert(offsetof(struct mpsprot_context, vext) == 584, "mpsprot.h's layout");

static int decode(const struct mpsprot_context *ctx, struct step_insn *d) {
  switch (ctx->arch) {
  case MPSPROT_ARCH_X86_64:
    return step_x86_64_decode(ctx, d);
  case MPSPROT_ARCH_AARCH64:
    return step_aarch64_decode(ctx, d);
  default:
    return 0;
  }
}

/* 1 if n bytes at address a can be accessed as one atomic access of the alias (16 bytes:
 * aarch64 CASP of X pairs, atomic_cas16). */
static int atomic_ok(uint64_t a, int n) {
  return (n == 1 || n == 2 || n == 4 || n == 8 || n == 16) && (a & (uint64_t)(n - 1)) == 0;
}

/* Decodes and checks; on success returns the pinned slot and the alias address of ea
 * (the caller unpins), else -1. */
static int prepare(const struct mpsprot_context *ctx, struct step_insn *d, uint8_t **mem) {
  if (!decode(ctx, d))
    return -1;
  uint64_t ea = d->ea, end = d->ea + (uint64_t)d->size;
  if (end < ea)
    return -1; /* wraps around the address space */
  if (ctx->address < ea || ctx->address >= end)
    return -1;
  if (d->evex) {
    /* AVX-512 state is in the context only where the frame carried it.  A masked access
     * touches only its enabled elements: the fault must lie in one, and only they must
     * lie in the region (masked-off ones may lie anywhere: they never fault). */
    if (!(ctx->flags & MPSPROT_CTX_AVX512) || d->mask == 0)
      return -1;
    if (!((d->mask >> ((ctx->address - ea) / (uint64_t)d->melem)) & 1))
      return -1;
    int first = __builtin_ctzll(d->mask), last = 63 - __builtin_clzll(d->mask);
    end = ea + (uint64_t)(last + 1) * (uint64_t)d->melem;
    ea += (uint64_t)first * (uint64_t)d->melem;
  }
  /* A read-modify-write may fault on its read or on its write (which one the CPU
   * reports differs between cores): both agree with it. */
  if ((ctx->access == MPSPROT_ACCESS_READ || ctx->access == MPSPROT_ACCESS_WRITE)
      && ctx->access != d->access && d->op != STEP_OP_RMW)
    return -1;
  /* An atomic access must be one aligned single-copy-atomic access. */
  if (d->lock && !atomic_ok(ea, d->size))
    return -1;
  if (d->align && (d->ea & (uint64_t)(d->size - 1)) != 0) /* the whole vector's, masked or not */
    return -1;
  /* Scalar floating-point arithmetic runs on the CPU under the mutator's MXCSR
   * (step_x86_64_fp.c): only where the frame gave MXCSR, and only with every exception
   * masked (an unmasked one would trap, #XM, instead of completing). */
  if (d->op == STEP_OP_FP
      && (!step_x86_64_fp_available() || !(ctx->flags & MPSPROT_CTX_MXCSR)
          || (ctx->regs[STEP_X86_MXCSR] & STEP_MXCSR_MASKS) != STEP_MXCSR_MASKS))
    return -1;
  /* A REP string instruction with RCX 0 performs no iteration: it cannot have faulted. */
  if (d->op == STEP_OP_STRING && d->rep && ctx->regs[1] == 0)
    return -1;
  /* The upper vector state is in the context only where the frame carried it. */
  if (d->upper && !(ctx->flags & MPSPROT_CTX_VEXT))
    return -1;
  if (ctx->slot < 0)
    return -1;
  int slot = region_pin((uintptr_t)ctx->address);
  if (slot < 0)
    return -1;
  const struct region *r = &region_table[slot];
  if (slot != ctx->slot || ea < r->base || end > r->limit) {
    region_unpin(slot);
    return -1;
  }
  if (d->op == STEP_OP_PUSH || d->op == STEP_OP_POP) {
    /* The stack word is accessed through the mutator's view: never one of ours. */
    uint64_t s = ctx->regs[4] - (d->op == STEP_OP_PUSH ? 8 : 0);
    int other = region_pin((uintptr_t)s), other2 = region_pin((uintptr_t)(s + 7));
    if (other >= 0)
      region_unpin(other);
    if (other2 >= 0)
      region_unpin(other2);
    if (other >= 0 || other2 >= 0) {
      region_unpin(slot);
      return -1;
    }
  }
  /* (for a masked access: the alias address of d->ea, which may lie outside the region;
   * only enabled elements are accessed through it) */
  *mem = (uint8_t *)(uintptr_t)(r->alias + (uintptr_t)(d->ea - r->base));
  return slot;
}

int step_can(const struct mpsprot_context *ctx) {
  if (ctx->flags & MPSPROT_CTX_STEPPED)
    return 0; /* its pc is past the faulting instruction: nothing left to step */
  struct step_insn d;
  uint8_t *mem;
  int slot = prepare(ctx, &d, &mem);
  if (slot < 0)
    return 0;
  region_unpin(slot);
  return 1;
}

/* One access of n bytes: a single volatile access when n is a power of two up to 8 and
 * p is aligned to it, else a byte copy of exactly n bytes. */
static void mem_read(uint8_t *dst, const uint8_t *p, int n) {
  uintptr_t a = (uintptr_t)p;
  switch (n) {
  case 1:
    dst[0] = *(const volatile uint8_t *)p;
    return;
  case 2:
    if ((a & 1) == 0) {
      step_le_put(dst, 2, *(const volatile uint16_t *)p);
      return;
    }
    break;
  case 4:
    if ((a & 3) == 0) {
      step_le_put(dst, 4, *(const volatile uint32_t *)p);
      return;
    }
    break;
  case 8:
    if ((a & 7) == 0) {
      step_le_put(dst, 8, *(const volatile uint64_t *)p);
      return;
    }
    break;
  default:
    break;
  }
  memcpy(dst, p, (size_t)n);
}

static void mem_write(uint8_t *p, const uint8_t *src, int n) {
  uintptr_t a = (uintptr_t)p;
  switch (n) {
  case 1:
    *(volatile uint8_t *)p = src[0];
    return;
  case 2:
    if ((a & 1) == 0) {
      *(volatile uint16_t *)p = (uint16_t)step_le_get(src, 2);
      return;
    }
    break;
  case 4:
    if ((a & 3) == 0) {
      *(volatile uint32_t *)p = (uint32_t)step_le_get(src, 4);
      return;
    }
    break;
  case 8:
    if ((a & 7) == 0) {
      *(volatile uint64_t *)p = step_le_get(src, 8);
      return;
    }
    break;
  default:
    break;
  }
  memcpy(p, src, (size_t)n);
}

/* Atomic load and compare-and-swap of an aligned 1, 2, 4 or 8-byte word (atomic_ok),
 * sequentially consistent (x86-64 LOCK is a full barrier; aarch64 orderings are at most
 * acquire-release).  The __atomic builtins are lock-free for these sizes on x86-64 and
 * aarch64: plain instructions (or libgcc's outline LSE/LL-SC helpers), async-signal-safe. */
static uint64_t atomic_get(uint8_t *p, int n) {
  switch (n) {
  case 1:
    return __atomic_load_n((uint8_t *)p, __ATOMIC_SEQ_CST);
  case 2:
    return __atomic_load_n((uint16_t *)p, __ATOMIC_SEQ_CST);
  case 4:
    return __atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST);
  default:
    return __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST);
  }
}

/* Replaces *old by the word's value when it does not match. */
static int atomic_cas(uint8_t *p, int n, uint64_t *old, uint64_t desired) {
  const int o = __ATOMIC_SEQ_CST;
  switch (n) {
  case 1: {
    uint8_t e = (uint8_t)*old;
    int ok = __atomic_compare_exchange_n((uint8_t *)p, &e, (uint8_t)desired, 0, o, o);
    *old = e;
    return ok;
  }
  case 2: {
    uint16_t e = (uint16_t)*old;
    int ok = __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)desired, 0, o, o);
    *old = e;
    return ok;
  }
  case 4: {
    uint32_t e = (uint32_t)*old;
    int ok = __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)desired, 0, o, o);
    *old = e;
    return ok;
  }
  default: {
    uint64_t e = *old;
    int ok = __atomic_compare_exchange_n((uint64_t *)p, &e, desired, 0, o, o);
    *old = e;
    return ok;
  }
  }
}

/* 16-byte compare-and-swap of an aligned pair of words (aarch64 CASP of X pairs): 1 and
 * desired stored if p holds old, else 0 and old replaced by what p holds.  aarch64: a
 * load/store-exclusive pair loop (the failing case stores back what it read, so that the
 * 16-byte read is single-copy atomic); an x86-64 host (the aarch64 decoder's tests):
 * LOCK CMPXCHG16B.  Inline instructions only: async-signal-safe. */
static int atomic_cas16(uint8_t *p, uint64_t old[2], const uint64_t desired[2]) {
#if defined(__aarch64__)
  for (;;) {
    uint64_t lo, hi;
    uint32_t fail;
    __asm__ volatile("ldaxp %0, %1, [%2]" : "=&r"(lo), "=&r"(hi) : "r"(p) : "memory");
    int match = lo == old[0] && hi == old[1];
    uint64_t wlo = match ? desired[0] : lo, whi = match ? desired[1] : hi;
    __asm__ volatile("stlxp %w0, %1, %2, [%3]"
                     : "=&r"(fail)
                     : "r"(wlo), "r"(whi), "r"(p)
                     : "memory");
    if (fail)
      continue;
    if (!match) {
      old[0] = lo;
      old[1] = hi;
    }
    return match;
  }
#elif defined(__x86_64__)
  uint64_t lo = old[0], hi = old[1];
  unsigned char ok;
  __asm__ volatile("lock cmpxchg16b %1\n\tsete %0"
                   : "=q"(ok), "+m"(*(volatile uint64_t(*)[2])p), "+a"(lo), "+d"(hi)
                   : "b"(desired[0]), "c"(desired[1])
                   : "memory", "cc");
  old[0] = lo;
  old[1] = hi;
  return ok;
#else
#error "atomic_cas16: no 16-byte compare-and-swap for this CPU"
#endif
}

static void arch_rmw(const struct mpsprot_context *ctx, const struct step_insn *d,
                     const uint64_t old[2], struct step_rmw *out) {
  if (ctx->arch == MPSPROT_ARCH_X86_64)
    step_x86_64_rmw(ctx, d, old, out);
  else
    step_aarch64_rmw(ctx, d, old, out);
}

/* ALU_LOAD and RMW: read (and write) the memory, then set the registers.  An aligned
 * RMW of 1..8 bytes is a compare-and-swap loop on the alias, so it is atomic with
 * respect to every other thread's access to the same memory (both views map the same
 * pages); a failing compare-exchange is linearised at its atomic load.  Unaligned
 * RMWs without LOCK are a plain read and write, as the hardware's own are not atomic
 * either (locked ones were refused by prepare). */
static void do_alu(struct mpsprot_context *ctx, const struct step_insn *d, uint8_t *mem,
                   uint64_t *before, uint64_t *after) {
  uint64_t old[2] = {0, 0};
  struct step_rmw res;
  int n = d->elem;
  if (d->op == STEP_OP_RMW && n == 16) { /* CASP of X pairs (aligned: prepare) */
    const uint64_t zero[2] = {0, 0};
    atomic_cas16(mem, old, zero); /* an atomic read (stores 0 only over 0) */
    for (;;) {
      arch_rmw(ctx, d, old, &res);
      if (!res.write || atomic_cas16(mem, old, res.mem_new))
        break;
    }
  } else if (d->op == STEP_OP_RMW && atomic_ok((uint64_t)(uintptr_t)mem, n)) {
    old[0] = atomic_get(mem, n);
    for (;;) {
      arch_rmw(ctx, d, old, &res);
      if (!res.write || atomic_cas(mem, n, &old[0], res.mem_new[0]))
        break;
    }
  } else {
    uint8_t buf[8];
    mem_read(buf, mem, n);
    old[0] = step_le_get(buf, n);
    arch_rmw(ctx, d, old, &res);
    if (d->op == STEP_OP_RMW && res.write) {
      step_le_put(buf, n, res.mem_new[0]);
      mem_write(mem, buf, n);
    }
  }
  *before = old[0];
  *after = (d->op == STEP_OP_RMW && res.write) ? res.mem_new[0] : old[0];
  for (int k = 0; k < res.nout; k++)
    ctx->regs[res.out_reg[k]] = res.out_val[k];
}

int step_do(struct mpsprot_context *ctx, struct mpsprot_log_entry *entry) {
  /* A second step would decode the instruction after the faulting one (the pc has
   * moved) and emulate it too: the mutator would resume past an instruction it never ran. */
  if (ctx->flags & MPSPROT_CTX_STEPPED)
    return EALREADY;
  struct step_insn d;
  uint8_t *mem;
  int slot = prepare(ctx, &d, &mem);
  if (slot < 0)
    return ENOSYS;
  uint8_t data[STEP_MAX_SIZE], before[STEP_MAX_SIZE];
  int x86 = ctx->arch == MPSPROT_ARCH_X86_64;
  /* aarch64 acquire/release accesses and atomics: full barriers on both sides (stronger
   * than any of their orderings, and RCsc: a stepped STLR is ordered before a later LDAR
   * whether or not that one is stepped).  Exception entry and return are not barriers. */
  if (d.order != 0)
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (d.op == STEP_OP_ALU_LOAD || d.op == STEP_OP_RMW) {
    uint64_t b, a;
    do_alu(ctx, &d, mem, &b, &a);
    step_le_put(before, 8, b);
    step_le_put(data, 8, a);
    ctx->sp = ctx->regs[x86 ? 4 : 31];
  } else if (d.op == STEP_OP_PUSH) {
    /* The stack word is the mutator's own memory below rsp: written directly. */
    mem_read(data, mem, 8);
    memcpy(before, data, 8);
    ctx->regs[4] -= 8;
    memcpy((void *)(uintptr_t)ctx->regs[4], data, 8);
    ctx->sp = ctx->regs[4];
  } else if (d.op == STEP_OP_POP) {
    memcpy(data, (const void *)(uintptr_t)ctx->regs[4], 8);
    mem_read(before, mem, 8);
    mem_write(mem, data, 8);
    ctx->regs[4] += 8;
    ctx->sp = ctx->regs[4];
  } else if (d.op == STEP_OP_FP) {
    mem_read(data, mem, d.size);
    memcpy(before, data, (size_t)d.size);
    step_x86_64_fp(ctx, &d, data); /* available: prepare checked */
  } else if (d.op == STEP_OP_STRING) {
    /* One iteration (x86-64 SCAS/LODS/STOS); an unfinished REP leaves the pc at the
     * instruction, which the CPU resumes with the registers advanced (as after an
     * interrupt between iterations): a later element on a protected page faults again. */
    if (d.access == MPSPROT_ACCESS_WRITE) {
      step_x86_64_store_data(ctx, &d, data);
      if (entry != NULL)
        mem_read(before, mem, d.elem);
      mem_write(mem, data, d.elem);
    } else {
      mem_read(data, mem, d.elem);
      memcpy(before, data, (size_t)d.elem);
    }
    if (!step_x86_64_string(ctx, &d, data))
      d.len = 0;
  } else if (d.evex) {
    /* AVX-512 moves: element by element, the enabled ones only (a masked-off element is
     * never read or written: another thread may own it, or it may lie outside the
     * region).  The log describes the span from the first to the last enabled element,
     * the bytes of masked-off elements in it shown as 0. */
    int me = d.melem, first = __builtin_ctzll(d.mask), last = 63 - __builtin_clzll(d.mask);
    uint8_t logd[STEP_MAX_SIZE];
    memset(data, 0, sizeof data);
    memset(before, 0, sizeof before);
    memset(logd, 0, sizeof logd);
    if (d.access == MPSPROT_ACCESS_WRITE)
      step_x86_64_store_data(ctx, &d, data);
    for (int j = first; j <= last; j++) {
      if (!((d.mask >> j) & 1))
        continue;
      if (d.access == MPSPROT_ACCESS_READ) {
        mem_read(data + j * me, mem + j * me, me);
        memcpy(before + j * me, data + j * me, (size_t)me);
      } else {
        if (entry != NULL)
          mem_read(before + j * me, mem + j * me, me);
        mem_write(mem + j * me, data + j * me, me);
      }
      memcpy(logd + j * me, data + j * me, (size_t)me);
    }
    if (d.access == MPSPROT_ACCESS_READ)
      step_x86_64_load(ctx, &d, data);
    /* the log entry: from the first enabled element on */
    memmove(before, before + first * me, (size_t)((last + 1 - first) * me));
    memcpy(data, logd + first * me, (size_t)((last + 1 - first) * me));
    d.ea += (uint64_t)(first * me);
    d.size = (last + 1 - first) * me;
  } else if (d.access == MPSPROT_ACCESS_READ) {
    for (int k = 0; k < d.nregs; k++)
      mem_read(data + k * d.elem, mem + k * d.elem, d.elem);
    memcpy(before, data, (size_t)d.size);
    if (x86)
      step_x86_64_load(ctx, &d, data);
    else
      step_aarch64_load(ctx, &d, data);
  } else {
    if (x86)
      step_x86_64_store_data(ctx, &d, data);
    else
      step_aarch64_store_data(ctx, &d, data);
    for (int k = 0; k < d.nregs; k++) {
      if (entry != NULL)
        mem_read(before + k * d.elem, mem + k * d.elem, d.elem);
      mem_write(mem + k * d.elem, data + k * d.elem, d.elem);
    }
  }
  if (d.order != 0)
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
  region_unpin(slot);
  if (x86)
    step_x86_64_finish(ctx, &d);
  else
    step_aarch64_finish(ctx, &d);
  ctx->flags |= MPSPROT_CTX_STEPPED;
  if (entry != NULL) {
    int low = d.size < 8 ? d.size : 8; /* wider accesses log their low 8 bytes */
    entry->address = d.ea;
    entry->before = step_le_get(before, low);
    entry->after = step_le_get(data, low);
    entry->access = d.access;
    entry->size = d.size;
  }
  return 0;
}
