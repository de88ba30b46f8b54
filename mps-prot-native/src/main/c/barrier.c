/* barrier.c -- the barrier policies, harvest, the access log and the handoff
 * (docs/design/fault.md .policy, .sol.harvest, .sol.handoff)
 *
 * barrier_fault is called by the fault handler (protsg_posix.c on Linux and macOS,
 * protsg_windows.c) for a fault whose address lies in a live region, with that region
 * pinned.  Everything it reaches is async-signal-safe (design .rule.signal): no
 * allocation, no stdio, no lock a mutator may hold (the BUSY bits of the record and the
 * handoff slots are the only things it waits on, and their holders never wait for a
 * mutator), only raw system calls through the OS seams (protos.h: mprotect or
 * VirtualProtect; osdep.h: futex or WaitOnAddress, write, the monotonic clock, yield),
 * the fault-event ring (fault_ring.h: atomics and the clock) and the fail-fast exit.
 *
 * Which faults may park (.rule.native): a thread that faulted in JIT-compiled Java code
 * is "in Java" for the JVM, and parking it while a Java thread resolves the fault can
 * deadlock the next safepoint.  So HANDOFF parks a thread only when the fault was taken
 * in native state: its pc lies in the accessors' section, or the thread declared itself
 * a native mutator.  Any other fault in a HANDOFF region takes the region's fallback.
 */
#include "mpsprot.h"
#include "fault_ring.h"
#include "mpmc.h"
#include "osdep.h"
#include "prmc.h"
#include "protos.h"
#include "region.h"
#include "step.h"

#include <errno.h>
#include <string.h>

static _Atomic int64_t counters[MPSPROT_COUNT_N];

/* Thread-local words of osdep.h (no allocation on first touch, so the handler may use
 * them): OSDEP_TLS_NATIVE_DEPTH, and OSDEP_TLS_SPURIOUS_PAGE / _RUN, the page of this
 * thread's last spurious fault and how many came in a row on it. */

/* A thread that faults spuriously on the same page this many times in a row re-applies
 * the record to the page (the OS and the record disagree); at SPURIOUS_LIMIT it fails
 * fast rather than loop for ever. */
#define SPURIOUS_REPAIR 2
#define SPURIOUS_LIMIT 64

void barrier_count(int which) {
  atomic_fetch_add_explicit(&counters[which], 1, memory_order_relaxed);
}

int64_t mpsprot_counter(int which) {
  if (which < 0 || which >= MPSPROT_COUNT_N)
    return -1;
  return atomic_load_explicit(&counters[which], memory_order_relaxed);
}

void mpsprot_native_mutator_begin(void) {
  osdep_tls_set(OSDEP_TLS_NATIVE_DEPTH, osdep_tls_get(OSDEP_TLS_NATIVE_DEPTH) + 1);
}

void mpsprot_native_mutator_end(void) {
  uintptr_t depth = osdep_tls_get(OSDEP_TLS_NATIVE_DEPTH);
  if (depth > 0)
    osdep_tls_set(OSDEP_TLS_NATIVE_DEPTH, depth - 1);
}

/* ---- Fail fast: one message to stderr (fd 2), then the process ends ---------------
 * (osdep_fail_fast: abort() on Linux and macOS, TerminateProcess on Windows) */

/* Kept out of line: their message buffer must not enlarge barrier_fault's frame (the
 * handler may run on a small alternate signal stack). */
#define COLD OSDEP_COLD

struct msg {
  char buf[1024];
  size_t n;
};

static void msg_str(struct msg *m, const char *s) {
  while (*s != '\0' && m->n < sizeof m->buf)
    m->buf[m->n++] = *s++;
}

static void msg_hex(struct msg *m, uint64_t v) {
  char t[19];
  int i = (int)sizeof t;
  t[--i] = '\0';
  do {
    t[--i] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v != 0);
  t[--i] = 'x';
  t[--i] = '0';
  msg_str(m, &t[i]);
}

static void msg_dec(struct msg *m, int64_t v) {
  char t[24];
  int i = (int)sizeof t;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  t[--i] = '\0';
  do {
    t[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0)
    t[--i] = '-';
  msg_str(m, &t[i]);
}

static const char *errno_name(int e) {
  switch (e) {
  case EPERM: return "EPERM";
  case EINTR: return "EINTR";
  case EAGAIN: return "EAGAIN";
  case ENOMEM: return "ENOMEM";
  case EACCES: return "EACCES";
  case EFAULT: return "EFAULT";
  case EBUSY: return "EBUSY";
  case EINVAL: return "EINVAL";
  case ENOSYS: return "ENOSYS";
  default: return NULL;
  }
}

static const char *access_name(int access) {
  return access == MPSPROT_ACCESS_READ    ? "read"
         : access == MPSPROT_ACCESS_WRITE ? "write"
                                          : "read or write";
}

/* The first part of every fatal message: what faulted, where, on which thread. */
static void msg_fault(struct msg *m, const struct mpsprot_context *ctx) {
  msg_str(m, "mps-prot: fatal: ");
  msg_str(m, access_name(ctx->access));
  msg_str(m, " fault at address ");
  msg_hex(m, ctx->address);
  msg_str(m, " (region slot ");
  msg_dec(m, ctx->slot);
  msg_str(m, ", thread id ");
  msg_dec(m, ctx->tid);
  msg_str(m, ", pc ");
  msg_hex(m, ctx->pc);
  if (ctx->flags & MPSPROT_CTX_TRAMP) /* .if.tramp: the registration, read here */
    msg_str(m, ", a registered mutator inside Prot.tramp / mpsprot_mutator_enter");
  msg_str(m, "): ");
}

static _Noreturn COLD void msg_abort(struct msg *m) {
  if (m->n == sizeof m->buf)
    m->buf[m->n - 1] = '\n';
  osdep_write_stderr(m->buf, m->n);
  barrier_count(MPSPROT_COUNT_FAIL_FAST);
  osdep_fail_fast();
}

/* The messages name both APIs (fault.md .msg.names): the Java name first, for the Java
 * collector's user, then the C name of mpsprot.h, for a C caller.  One process may hold
 * both, and the handler cannot know which one protected the page. */
#define RULE_NATIVE                                                                        \
  "a fault that a Java collector must resolve may be taken only in native state: access " \
  "the region through the module's accessors (Java: org.mpsprot.Accessors getLong, "      \
  "putInt, ...; C: mpsprot_get_*/put_*), or (C code only, never a Java thread) declare a " \
  "native mutator with mpsprot_native_mutator_begin; see docs/design/fault.md "           \
  ".rule.native\n"

static _Noreturn COLD void fail_not_native(const struct mpsprot_context *ctx) {
  struct msg m = {.n = 0};
  msg_fault(&m, ctx);
  msg_str(&m, "the region's policy is HANDOFF with fallback FAIL_FAST (Java: Region.setHandoff"
              "(handler, HandoffFallback.FAIL_FAST)) and the fault was taken outside native "
              "state (not in an accessor, not on a native mutator thread). Rule: " RULE_NATIVE);
  msg_abort(&m);
}

static _Noreturn COLD void fail_no_policy(const struct mpsprot_context *ctx) {
  struct msg m = {.n = 0};
  msg_fault(&m, ctx);
  msg_str(&m, "the region has no barrier policy (Java: BarrierPolicy.NONE; C: "
              "MPSPROT_POLICY_NONE), so a fault on its protected pages cannot be resolved: "
              "set one before protecting pages the mutator touches (Java: Region.setPolicy or "
              "Region.setHandoff; C: mpsprot_region_set_policy); see docs/design/fault.md "
              ".policy\n");
  msg_abort(&m);
}

static _Noreturn COLD void fail_unresolved(const struct mpsprot_context *ctx) {
  struct msg m = {.n = 0};
  msg_fault(&m, ctx);
  msg_str(&m, "the collector could not resolve the parked mutator's fault (Java: the region's "
              "FaultHandler threw, or returned without lowering the protection or stepping "
              "the instruction; its report is above; C: mpsprot_handoff_resolve with "
              "MPSPROT_RESOLVE_FAIL); see docs/design/fault.md .sol.handoff\n");
  msg_abort(&m);
}

static _Noreturn COLD void fail_mprotect(const struct mpsprot_context *ctx, uintptr_t page,
                                    int mode, int err) {
  struct msg m = {.n = 0};
  msg_fault(&m, ctx);
  msg_str(&m, "the handler's mprotect(");
  msg_hex(&m, page);
  msg_str(&m, ", ");
  msg_dec(&m, protos_page_size());
  msg_str(&m, mode == 0 ? ", read-write" : mode == MPSPROT_ACCESS_WRITE ? ", read-only"
                                                                        : ", no access");
  msg_str(&m, ") failed: ");
  const char *name = errno_name(err);
  if (name != NULL) {
    msg_str(&m, name);
  } else {
    msg_str(&m, "errno ");
    msg_dec(&m, err);
  }
  if (err == ENOMEM)
    msg_str(&m, " (the process may have reached vm.max_map_count: protect fewer, longer "
                "runs of pages or raise the limit)");
  msg_str(&m, ", and the faulting instruction cannot be emulated instead; see "
              "docs/design/fault.md .sol.open.refused\n");
  msg_abort(&m);
}

static _Noreturn COLD void fail_disagree(const struct mpsprot_context *ctx, unsigned mode) {
  struct msg m = {.n = 0};
  msg_fault(&m, ctx);
  msg_str(&m, "the page keeps faulting although the module's record allows the access "
              "(recorded AccessSet ");
  msg_dec(&m, (int64_t)mode);
  msg_str(&m, ") and re-applying it did not help: was the protection changed outside the "
              "module?\n");
  msg_abort(&m);
}

/* region_page_acquire's bound (prot.c, design .sol.busy.bound).  Not a fault's
 * message: it may fire in a normal call (mpsprot_protect, harvest, hold) too. */
_Noreturn COLD void barrier_fail_busy(struct region *r, size_t p, unsigned v,
                                      int64_t bound_ns) {
  struct msg m = {.n = 0};
  msg_str(&m, "mps-prot: fatal: the record byte of page ");
  msg_dec(&m, (int64_t)p);
  msg_str(&m, " (address ");
  msg_hex(&m, (uint64_t)(r->base + p * (uintptr_t)protos_page_size()));
  msg_str(&m, ") of region slot ");
  msg_dec(&m, (int64_t)(r - region_table));
  msg_str(&m, " stayed BUSY (value ");
  msg_hex(&m, v);
  msg_str(&m, ") for more than ");
  msg_dec(&m, bound_ns / 1000000000);
  msg_str(&m, " s, seen by thread id ");
  msg_dec(&m, osdep_thread_id());
  msg_str(&m, ". A holder keeps BUSY only around one mprotect or one read of "
              "/proc/self/maps, so either the record was corrupted (a stray write into the "
              "module's bookkeeping, e.g. through the pointer of mpsprot_region_record) or "
              "the thread that held the page died or was stopped while holding it. The "
              "record can no longer be trusted; see docs/design/prot.md .sol.busy.bound\n");
  msg_abort(&m);
}

/* ---- The fault path ------------------------------------------------------------ */

/* 1 if a page whose record is `mode` forbids `access` (a write, or an access of unknown
 * kind, is forbidden by every non-empty AccessSet: .if.set). */
static int forbids(unsigned mode, int access) {
  return access == MPSPROT_ACCESS_READ ? (mode & MPSPROT_ACCESS_READ) != 0 : mode != 0;
}

/* Takes BUSY on page p.  If the record still forbids the access, returns 1 with BUSY
 * held and *mode = the recorded AccessSet.  Otherwise another thread opened the page
 * since the fault: counts a spurious fault, releases BUSY and returns 0 (the
 * instruction retries).  -1 (BUSY released): the page is no longer the region's
 * (REGION_FOREIGN): the fault is not the module's. */
static int acquire_forbidding(struct region *r, size_t p, const struct mpsprot_context *ctx,
                              unsigned *mode) {
  unsigned m = region_page_acquire(r, p);
  if (m & REGION_FOREIGN) { /* replaced from outside (region.h): not the module's page */
    region_page_release(r, p, m);
    return -1;
  }
  if (forbids(m, ctx->access)) {
    if (osdep_tls_get(OSDEP_TLS_SPURIOUS_RUN) != 0) /* stores only after a spurious fault */
      osdep_tls_set(OSDEP_TLS_SPURIOUS_RUN, 0);
    *mode = m;
    return 1;
  }
  barrier_count(MPSPROT_COUNT_SPURIOUS);
  size_t page = (size_t)protos_page_size();
  uintptr_t at = r->base + p * page;
  uintptr_t spurious_run = 1;
  if (osdep_tls_get(OSDEP_TLS_SPURIOUS_PAGE) == at)
    spurious_run = osdep_tls_get(OSDEP_TLS_SPURIOUS_RUN) + 1;
  else
    osdep_tls_set(OSDEP_TLS_SPURIOUS_PAGE, at);
  osdep_tls_set(OSDEP_TLS_SPURIOUS_RUN, spurious_run);
  if (spurious_run >= SPURIOUS_LIMIT)
    fail_disagree(ctx, m);
  if (spurious_run >= SPURIOUS_REPAIR) {
    /* Twice in a row on this page: the OS may disagree with the record (a failed
     * restore, a change outside the module).  Make it agree; the record is the truth. */
    int err = protos_set(at, page, (int)m);
    if (err != 0)
      fail_mprotect(ctx, at, (int)m, err);
  }
  region_page_release(r, p, m);
  return 0;
}

/* Sets page p's dirty bit for a write, its touched bit for a read (before BUSY is
 * released, so that a harvest that re-protects the page afterwards sees the bit). */
static void mark_page(struct region *r, size_t p, int access) {
  uint64_t bit = (uint64_t)1 << (p % 64);
  if (access & MPSPROT_ACCESS_WRITE)
    atomic_fetch_or_explicit(&r->dirty[p / 64], bit, memory_order_relaxed);
  if (access & MPSPROT_ACCESS_READ)
    atomic_fetch_or_explicit(&r->touched[p / 64], bit, memory_order_relaxed);
}

/* UNPROTECT (BUSY held on p, record `mode`): give the page the access it needed and mark
 * it.  When the OS refuses (ENOMEM: opening one page inside a protected run splits its
 * mapping, and at vm.max_map_count there is none to split into), the access is emulated
 * through the alias view instead if the instruction can be stepped (.sol.open.refused):
 * the page stays protected and is marked as if it had been opened, and the mutator goes
 * on; only an instruction that cannot be stepped fails fast.  Returns the resolution for
 * the fault ring: MPSPROT_FAULT_UNPROTECTED, or MPSPROT_FAULT_FELL_BACK when it stepped. */
static int open_page(struct region *r, size_t p, struct mpsprot_context *ctx,
                      osdep_fault_frame *uc, unsigned mode) {
  size_t page = (size_t)protos_page_size();
  uintptr_t at = r->base + p * page;
  unsigned after = ctx->access == MPSPROT_ACCESS_READ ? mode & ~(unsigned)MPSPROT_ACCESS_READ
                                                      : 0;
  int err = protos_set(at, page, (int)after);
  if (err != 0) {
    if (step_can(ctx) && step_do(ctx, NULL) == 0) {
      mark_page(r, p, ctx->access);
      region_page_release(r, p, mode);
      prmc_restore(uc, ctx);
      barrier_count(MPSPROT_COUNT_STEPPED);
      return MPSPROT_FAULT_FELL_BACK;
    }
    region_page_release(r, p, mode);
    fail_mprotect(ctx, at, (int)after, err);
  }
  mark_page(r, p, ctx->access);
  region_page_release(r, p, after);
  barrier_count(MPSPROT_COUNT_UNPROTECTED);
  return MPSPROT_FAULT_UNPROTECTED;
}

/* ---- The access log (region.h: a bounded MPMC queue) ---------------------------- */

#define LOG_MASK ((uint64_t)MPSPROT_LOG_CAPACITY - 1)
#define LOG_CELLS(log) (log)->cells, sizeof(struct region_log_cell), LOG_MASK

/* Reserves the next cell, or NULL if the log is full; *pos receives its position. */
static struct region_log_cell *log_reserve(struct region_log *log, uint64_t *pos) {
  return mpmc_reserve(&log->head, LOG_CELLS(log), pos) ? &log->cells[*pos & LOG_MASK] : NULL;
}

static void log_publish(struct region_log *log, uint64_t pos) {
  mpmc_publish(LOG_CELLS(log), pos);
}

static int log_drain_pinned(struct region *r, struct mpsprot_log_entry *out, int max);

/* Pins the slot for the whole drain (a concurrent destroy waits). */
int mpsprot_log_drain(int slot, struct mpsprot_log_entry *out, int max) {
  if (out == NULL)
    return 0;
  struct region *r = region_pin_slot(slot);
  if (r == NULL)
    return 0;
  int n = log_drain_pinned(r, out, max);
  region_unpin(slot);
  return n;
}

static int log_drain_pinned(struct region *r, struct mpsprot_log_entry *out, int max) {
  struct region_log *log = r->log;
  int n = 0;
  uint64_t at;
  /* Stops when empty, or at an entry still being written: never waits for it. */
  while (n < max && mpmc_take(&log->tail, LOG_CELLS(log), &at)) {
    struct region_log_cell *c = &log->cells[at & LOG_MASK];
    if (c->entry.size != 0) /* 0: a reserved cell whose step did not happen */
      out[n++] = c->entry;
    mpmc_release(LOG_CELLS(log), at);
  }
  return n;
}

/* STEP (BUSY held on p, record `mode`): emulate the instruction through the alias view
 * and log it, leaving the protection as it is; else UNPROTECT.  Returns the resolution
 * for the fault ring: MPSPROT_FAULT_STEPPED, or MPSPROT_FAULT_FELL_BACK. */
static int step_fault(struct region *r, size_t p, struct mpsprot_context *ctx,
                       osdep_fault_frame *uc, unsigned mode) {
  if (step_can(ctx)) {
    uint64_t pos;
    struct region_log_cell *c = log_reserve(r->log, &pos);
    if (c != NULL) {
      int err = step_do(ctx, &c->entry);
      if (err != 0)
        c->entry.size = 0;
      log_publish(r->log, pos);
      if (err == 0) {
        region_page_release(r, p, mode);
        prmc_restore(uc, ctx);
        barrier_count(MPSPROT_COUNT_STEPPED);
        return MPSPROT_FAULT_STEPPED;
      }
    } else {
      barrier_count(MPSPROT_COUNT_LOG_FULL);
    }
  }
  open_page(r, p, ctx, uc, mode);
  return MPSPROT_FAULT_FELL_BACK;
}

/* ---- The handoff (.sol.handoff) --------------------------------------------------
 * A fixed array of slots.  Each slot's word holds gen << 3 | state; the generation
 * makes tickets (gen << 6 | index) single-use.  Parked mutators wait (osdep_wait: a
 * futex on Linux, WaitOnAddress on Windows) on their slot's word; barrier threads wait
 * on post_seq; mutators that find no free slot wait on free_seq. */

#define HANDOFF_SLOTS 64
#define HANDOFF_SHIFT 6 /* log2(HANDOFF_SLOTS) */
#define TICKET_GEN_MASK 0xffffffu

enum { HS_FREE = 0, HS_FILLING = 1, HS_POSTED = 2, HS_TAKEN = 3, HS_RESOLVED = 4,
       HS_FAILED = 5 };
#define HS_STATE(w) ((w) & 7u)
#define HS_GEN(w) ((w) >> 3)
#define HS_WORD(gen, state) (((gen) << 3) | (state))

struct handoff_slot {
  _Atomic uint32_t word;
  int64_t parked_ns;
  struct mpsprot_context ctx;
};

static struct handoff_slot handoff[HANDOFF_SLOTS];
static _Atomic uint32_t post_seq, free_seq;
static _Atomic int post_waiters, free_waiters;
static _Atomic unsigned wait_start;

static struct handoff_slot *claim_free_slot(void) {
  for (;;) {
    uint32_t seq = atomic_load(&free_seq);
    for (int i = 0; i < HANDOFF_SLOTS; i++) {
      struct handoff_slot *s = &handoff[i];
      uint32_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
      if (HS_STATE(w) == HS_FREE
          && atomic_compare_exchange_strong(&s->word, &w, HS_WORD(HS_GEN(w) + 1, HS_FILLING)))
        return s;
    }
    /* Every slot is taken: wait until one is freed.  A slot freed since seq was read
     * changed free_seq, so the wait returns at once (EAGAIN); a freer that saw no
     * waiter incremented free_seq before we registered, which the wait sees too. */
    atomic_fetch_add(&free_waiters, 1);
    osdep_wait(&free_seq, seq, -1);
    atomic_fetch_sub(&free_waiters, 1);
  }
}

/* Parks the calling mutator (the region is unpinned) until a barrier thread resolves
 * the fault; applies a step the collector made. */
static void park(const struct mpsprot_context *ctx, osdep_fault_frame *uc) {
  /* While parked, the signals the thread had open when it faulted are open again: a
   * signal handler may run here, and a fault it takes nests (fault.md .handler.nest).
   * This frame holds no BUSY bit and no pin, so the nested fault never waits for it. */
  osdep_park_mask mask;
  osdep_park_signals(uc, &mask);
  struct handoff_slot *s = claim_free_slot();
  s->ctx = *ctx;
  s->parked_ns = osdep_now_ns();
  uint32_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
  uint32_t gen = HS_GEN(w);
  atomic_store(&s->word, HS_WORD(gen, HS_POSTED));
  atomic_fetch_add(&post_seq, 1);
  /* One post, one waiter woken: a waiter scans for posted slots before it sleeps, so a
   * busy barrier thread finds this slot when it comes back; waking every waiter would
   * only make the others lose the race for it and sleep again. */
  if (atomic_load(&post_waiters) > 0)
    osdep_wake_one(&post_seq);
  for (;;) {
    w = atomic_load_explicit(&s->word, memory_order_acquire);
    if (HS_STATE(w) == HS_RESOLVED || HS_STATE(w) == HS_FAILED)
      break;
    osdep_wait(&s->word, w, -1); /* EINTR, EAGAIN, spurious: look again */
  }
  osdep_unpark_signals(&mask);
  if (HS_STATE(w) == HS_FAILED)
    fail_unresolved(&s->ctx);
  if (s->ctx.flags & MPSPROT_CTX_STEPPED)
    prmc_restore(uc, &s->ctx);
  barrier_count(MPSPROT_COUNT_HANDOFFS);
  atomic_store(&s->word, HS_WORD(gen, HS_FREE));
  atomic_fetch_add(&free_seq, 1);
  if (atomic_load(&free_waiters) > 0)
    osdep_wake_all(&free_seq);
}

static struct handoff_slot *ticket_slot(int ticket, uint32_t *gen) {
  if (ticket < 0)
    return NULL;
  *gen = (uint32_t)ticket >> HANDOFF_SHIFT;
  return &handoff[ticket & (HANDOFF_SLOTS - 1)];
}

int mpsprot_handoff_wait(int timeout_ms) {
  int64_t deadline =
      timeout_ms < 0 ? INT64_MAX : osdep_now_ns() + (int64_t)timeout_ms * 1000000;
  atomic_fetch_add(&post_waiters, 1);
  for (;;) {
    uint32_t seq = atomic_load(&post_seq);
    unsigned start = atomic_fetch_add_explicit(&wait_start, 1, memory_order_relaxed);
    for (int k = 0; k < HANDOFF_SLOTS; k++) {
      int i = (int)((start + (unsigned)k) % HANDOFF_SLOTS);
      struct handoff_slot *s = &handoff[i];
      uint32_t w = atomic_load_explicit(&s->word, memory_order_relaxed);
      if (HS_STATE(w) == HS_POSTED
          && atomic_compare_exchange_strong(&s->word, &w, HS_WORD(HS_GEN(w), HS_TAKEN))) {
        atomic_fetch_sub(&post_waiters, 1);
        return (int)(((HS_GEN(w) & TICKET_GEN_MASK) << HANDOFF_SHIFT) | (unsigned)i);
      }
    }
    int64_t left = -1;
    if (deadline != INT64_MAX) {
      left = deadline - osdep_now_ns();
      if (left <= 0)
        break;
    }
    osdep_wait(&post_seq, seq, left);
  }
  atomic_fetch_sub(&post_waiters, 1);
  return -1;
}

int64_t mpsprot_handoff_context(int ticket) {
  uint32_t gen;
  struct handoff_slot *s = ticket_slot(ticket, &gen);
  if (s == NULL)
    return 0;
  uint32_t w = atomic_load(&s->word);
  if (HS_STATE(w) != HS_TAKEN || (HS_GEN(w) & TICKET_GEN_MASK) != gen)
    return 0;
  return (int64_t)(uintptr_t)&s->ctx;
}

int mpsprot_handoff_resolve(int ticket, int outcome) {
  uint32_t gen;
  struct handoff_slot *s = ticket_slot(ticket, &gen);
  if (s == NULL || (outcome != MPSPROT_RESOLVE_RESUME && outcome != MPSPROT_RESOLVE_FAIL))
    return EINVAL;
  uint32_t w = atomic_load(&s->word);
  if (HS_STATE(w) != HS_TAKEN || (HS_GEN(w) & TICKET_GEN_MASK) != gen)
    return EINVAL;
  uint32_t to = HS_WORD(HS_GEN(w), outcome == MPSPROT_RESOLVE_RESUME ? HS_RESOLVED : HS_FAILED);
  if (!atomic_compare_exchange_strong(&s->word, &w, to))
    return EINVAL;
  osdep_wake_one(&s->word);
  return 0;
}

int64_t mpsprot_handoff_parked_ns(int ticket) {
  uint32_t gen;
  struct handoff_slot *s = ticket_slot(ticket, &gen);
  if (s == NULL)
    return -1;
  uint32_t w = atomic_load(&s->word);
  if (HS_STATE(w) != HS_TAKEN || (HS_GEN(w) & TICKET_GEN_MASK) != gen)
    return -1;
  return osdep_now_ns() - s->parked_ns; /* written before the slot was POSTED */
}

int mpsprot_handoff_parked(int64_t *out, int max) {
  if (out == NULL && max > 0)
    return -1;
  int n = 0;
  int64_t now = osdep_now_ns();
  for (int i = 0; i < HANDOFF_SLOTS && n < max; i++) {
    struct handoff_slot *s = &handoff[i];
    uint32_t w1 = atomic_load(&s->word);
    if (HS_STATE(w1) != HS_POSTED && HS_STATE(w1) != HS_TAKEN)
      continue;
    int64_t tid = s->ctx.tid, addr = (int64_t)s->ctx.address, since = s->parked_ns;
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load(&s->word) != w1)
      continue; /* resolved (or reused) while we read: not parked any more */
    out[3 * n] = tid;
    out[3 * n + 1] = addr;
    out[3 * n + 2] = now - since;
    n++;
  }
  return n;
}

void barrier_after_fork_child(void) {
  /* The parked mutators and the waiting barrier threads were the parent's other
   * threads; none of them exists in the child.  Generations stay, so that a ticket
   * taken before the fork stays stale. */
  for (int i = 0; i < HANDOFF_SLOTS; i++) {
    uint32_t w = atomic_load_explicit(&handoff[i].word, memory_order_relaxed);
    atomic_store_explicit(&handoff[i].word, HS_WORD(HS_GEN(w) + 1, HS_FREE),
                          memory_order_relaxed);
  }
  atomic_store_explicit(&post_waiters, 0, memory_order_relaxed);
  atomic_store_explicit(&free_waiters, 0, memory_order_relaxed);
  fault_ring_after_fork_child();
}

/* ---- The handler's entry -------------------------------------------------------- */

/* Records a fault the ring sampled (fault_ring.h), with the region's policy. */
static void ring_record(int sampled, int64_t t0, const struct mpsprot_context *ctx,
                        int policy, int resolution) {
  if (sampled)
    fault_ring_push(t0, ctx->address, ctx->tid, ctx->slot, ctx->access, policy, resolution);
}

int barrier_fault(int slot, const osdep_fault_info *info, osdep_fault_frame *uc) {
  struct region *r = &region_table[slot];
  struct mpsprot_context ctx;
  int64_t t0 = 0;
  int sampled = fault_ring_begin(&t0); /* off: one relaxed load */
  if (prmc_capture(&ctx, info, uc) != PRMC_DATA) {
    region_unpin(slot);
    return 0;
  }
  ctx.slot = slot;
  if (osdep_in_accessor(ctx.pc) || osdep_tls_get(OSDEP_TLS_NATIVE_DEPTH) > 0)
    ctx.flags |= MPSPROT_CTX_NATIVE;
  if (osdep_tls_get(OSDEP_TLS_MUTATOR_DEPTH) > 0) /* .if.tramp: initial-exec TLS, no lock */
    ctx.flags |= MPSPROT_CTX_TRAMP;
  barrier_count(ctx.access == MPSPROT_ACCESS_READ ? MPSPROT_COUNT_FAULTS_READ
                                                   : MPSPROT_COUNT_FAULTS_WRITE);
  size_t p = (size_t)((ctx.address - r->base) / (uint64_t)protos_page_size());
  unsigned mode;
  int forbidden = acquire_forbidding(r, p, &ctx, &mode);
  int policy = atomic_load_explicit(&r->policy, memory_order_acquire);
  if (forbidden <= 0) {
    region_unpin(slot);
    if (forbidden == 0)
      ring_record(sampled, t0, &ctx, policy, MPSPROT_FAULT_SPURIOUS);
    return forbidden == 0; /* -1: pass it on to the previous handler (which records it) */
  }
  switch (policy) {
  case MPSPROT_POLICY_UNPROTECT:
    ring_record(sampled, t0, &ctx, policy, open_page(r, p, &ctx, uc, mode));
    break;
  case MPSPROT_POLICY_STEP:
    ring_record(sampled, t0, &ctx, policy, step_fault(r, p, &ctx, uc, mode));
    break;
  case MPSPROT_POLICY_HANDOFF:
    if (ctx.flags & MPSPROT_CTX_NATIVE) {
      region_page_release(r, p, mode);
      region_unpin(slot); /* a parked thread must not hold up mpsprot_region_destroy */
      park(&ctx, uc);
      ring_record(sampled, t0, &ctx, policy, MPSPROT_FAULT_HANDED_OFF);
      return 1;
    }
    if (atomic_load_explicit(&r->fallback, memory_order_acquire)
        == MPSPROT_FALLBACK_UNPROTECT) {
      open_page(r, p, &ctx, uc, mode);
      ring_record(sampled, t0, &ctx, policy, MPSPROT_FAULT_FELL_BACK);
      break;
    }
    region_page_release(r, p, mode);
    fail_not_native(&ctx);
  default:
    region_page_release(r, p, mode);
    fail_no_policy(&ctx);
  }
  region_unpin(slot);
  return 1;
}

/* ---- Policies, bitmaps, harvest --------------------------------------------------- */

int mpsprot_region_set_policy(int slot, int policy, int fallback) {
  if (policy < MPSPROT_POLICY_NONE || policy > MPSPROT_POLICY_HANDOFF
      || (fallback != MPSPROT_FALLBACK_FAIL_FAST && fallback != MPSPROT_FALLBACK_UNPROTECT))
    return EINVAL;
  struct region *r = region_pin_slot(slot);
  if (r == NULL)
    return EINVAL;
  atomic_store_explicit(&r->fallback, fallback, memory_order_release);
  atomic_store_explicit(&r->policy, policy, memory_order_release);
  region_unpin(slot);
  return 0;
}

int64_t mpsprot_region_bitmap(int slot, int which) {
  struct region *r = region_pin_slot(slot);
  if (r == NULL)
    return 0;
  int64_t at = which == 0 ? (int64_t)(uintptr_t)r->dirty
               : which == 1 ? (int64_t)(uintptr_t)r->touched
                            : 0;
  region_unpin(slot);
  return at;
}

/* The harvests (dirty and touched) share one walk over a bitmap `bits` of the region:
 * r->dirty for mpsprot_harvest, r->touched for mpsprot_harvest_touched. */
static int dirty_bit(_Atomic uint64_t *bits, size_t p) {
  return (atomic_load_explicit(&bits[p / 64], memory_order_relaxed) >> (p % 64)) & 1;
}

/* The first page in [p, end) whose bit in `bits` is set, or end. */
static size_t next_dirty(_Atomic uint64_t *bits, size_t p, size_t end) {
  while (p < end) {
    uint64_t w = atomic_load_explicit(&bits[p / 64], memory_order_relaxed) >> (p % 64);
    if (w != 0) {
      p += (size_t)__builtin_ctzll(w);
      return p < end ? p : end;
    }
    p = (p / 64 + 1) * 64;
  }
  return end;
}

/* A failed harvest reports nothing and loses nothing: every bit that this call cleared
 * in `map` (the bits it set in out[]) is set again; out[] and *found go back to zero. */
static void harvest_undo(_Atomic uint64_t *map, int64_t first, int64_t count, uint64_t *out,
                         int64_t *found) {
  for (int64_t w = 0; w < (count + 63) / 64; w++) {
    for (uint64_t bits = out[w]; bits != 0; bits &= bits - 1) {
      size_t i = (size_t)first + (size_t)w * 64 + (size_t)__builtin_ctzll(bits);
      atomic_fetch_or_explicit(&map[i / 64], (uint64_t)1 << (i % 64), memory_order_relaxed);
    }
    out[w] = 0;
  }
  *found = 0;
}

static int harvest_pinned(struct region *r, int touched, int64_t first, int64_t count,
                          int mode_after, uint64_t *out, int64_t *found);

/* Pins the slot for the whole harvest (a concurrent destroy waits). */
static int harvest_slot(int slot, int touched, int64_t first, int64_t count, int mode_after,
                        uint64_t *out, int64_t *found) {
  if (found != NULL)
    *found = 0;
  struct region *r = region_pin_slot(slot);
  if (r == NULL)
    return EINVAL;
  int err = harvest_pinned(r, touched, first, count, mode_after, out, found);
  region_unpin(slot);
  return err;
}

int mpsprot_harvest(int slot, int64_t first, int64_t count, int mode_after, uint64_t *out,
                    int64_t *found) {
  return harvest_slot(slot, 0, first, count, mode_after, out, found);
}

/* The same walk over the touched bits (.sol.harvest.touched): a read barrier's new cycle. */
int mpsprot_harvest_touched(int slot, int64_t first, int64_t count, int mode_after,
                            uint64_t *out, int64_t *found) {
  return harvest_slot(slot, 1, first, count, mode_after, out, found);
}

static int harvest_pinned(struct region *r, int touched, int64_t first, int64_t count,
                          int mode_after, uint64_t *out, int64_t *found) {
  if (r == NULL || out == NULL || found == NULL || first < 0 || count < 0
      || (uint64_t)first + (uint64_t)count > (uint64_t)r->pages
      || (mode_after & ~MPSPROT_ACCESS_ALL) != 0)
    return EINVAL;
  size_t page = (size_t)protos_page_size();
  size_t p = (size_t)first, end = (size_t)(first + count);
  if (region_range_foreign(r, p, end)) /* .sol.replaced: refused before any change */
    return ENXIO;
  _Atomic uint64_t *bits = touched ? r->touched : r->dirty;
  while ((p = next_dirty(bits, p, end)) < end) {
    /* A run of marked pages, re-protected with one call (ascending BUSY order). */
    size_t q = p + 1;
    while (q < end && dirty_bit(bits, q))
      q++;
    for (size_t i = p; i < q; i++)
      region_page_acquire(r, i);
    int err = region_range_foreign(r, p, q) ? ENXIO
                                             : protos_set(r->base + p * page, (q - p) * page,
                                                          mode_after);
    if (err != 0) {
      if (err != ENXIO)
        region_restore_or_adopt(r, p, q, (unsigned)mode_after);
      for (size_t i = p; i < q; i++)
        region_page_release(r, i, atomic_load_explicit(&r->record[i], memory_order_relaxed));
      harvest_undo(bits, first, count, out, found);
      return err;
    }
    for (size_t i = p; i < q; i++) {
      uint64_t bit = (uint64_t)1 << (i % 64);
      if (atomic_fetch_and_explicit(&bits[i / 64], ~bit, memory_order_acq_rel) & bit) {
        size_t k = i - (size_t)first;
        out[k / 64] |= (uint64_t)1 << (k % 64);
        (*found)++;
      }
      region_page_release(r, i, (unsigned)mode_after);
    }
    p = q;
  }
  return 0;
}

/* ---- Stepping on a context (the Java collector's ProtStepInstruction) ------------ */

int mpsprot_context_can_step(int64_t ctx) {
  return ctx == 0 ? 0 : step_can((const struct mpsprot_context *)(uintptr_t)ctx);
}

int mpsprot_context_step(int64_t ctx) {
  return ctx == 0 ? EINVAL : step_do((struct mpsprot_context *)(uintptr_t)ctx, NULL);
}
