/* fault_fixture.h -- the fault path inside regions, checked once for Linux (test_fault.c:
 * x86-64, and aarch64 natively or under qemu-user) and Windows (test_fault_windows.c:
 * x86-64, mingw-w64, run under Wine here).
 *
 * Fixtures: regions (create with a policy, protect, the record and the dirty/touched
 * bitmaps), a resolver thread that takes one handoff ticket, copies the context and runs
 * an action, stores the decoders step or refuse with a context describing the first,
 * asm_store (known registers around one store) and a collector that steps it by hand.
 * Checks: the policy arguments; the accessor handoff (the write fault's context with its
 * registers, the parked list, the ticket, a read fault, the collector's step); the
 * accessors and mpsprot_copy; a declared native mutator's registers read and written
 * back; the instruction bytes at the end of a code page; many mutators and barrier
 * threads with more parked than slots; UNPROTECT and its spurious faults; two threads
 * racing on a page; STEP with its fallbacks and the access log.
 *
 * The per-OS primitives (threads, the thread id, a monotonic clock, sleeping, a barrier,
 * the function a pc lies in, pages for code made at run time) are the small ff_*
 * functions below; elsewhere #ifdef _WIN32 marks only what differs between the OSes
 * (the thread's last error, VirtualQuery's view, the Windows x64 calling convention),
 * and #if on the architecture only what differs between CPUs (inline assembly, register
 * numbers, instruction bytes).
 *
 * Include it once per program, after check.h and mpsprot.h (and testwin.h on Windows),
 * with FF_TEST_NAME defined (the program's name in its report and notes); the program's
 * main starts its watchdog and returns ff_main(), which runs every check in order. */
#ifndef MPSPROT_FAULT_FIXTURE_H
#define MPSPROT_FAULT_FIXTURE_H

#ifndef FF_TEST_NAME
#error "define FF_TEST_NAME before including fault_fixture.h"
#endif

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#ifdef _WIN32
#include "testwin.h"
#else
#include <dlfcn.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#endif

static long page;

/* ---- Per-OS primitives ---- */

#ifdef _WIN32
typedef tw_thread ff_thread;
typedef DWORD ff_ret; /* what a thread function returns: return (ff_ret)0 */
#define FF_API WINAPI

static inline void ff_start(ff_thread *t, ff_ret(FF_API *fn)(void *), void *arg) {
  tw_start(t, fn, arg);
}
static inline void ff_join(ff_thread *t) { tw_join(t); }
static inline int64_t ff_now_ms(void) { return tw_now_ms(); }
static inline void ff_sleep_ms(int ms) { Sleep((DWORD)ms); }
static inline int64_t ff_tid(void) { return (int64_t)GetCurrentThreadId(); }

typedef struct tw_barrier ff_barrier;
static inline void ff_barrier_init(ff_barrier *b, int n) {
  b->count = 0;
  b->generation = 0;
  b->n = n;
}
static inline void ff_barrier_wait(ff_barrier *b) { tw_barrier_wait(b); }
static inline void ff_barrier_destroy(ff_barrier *b) { (void)b; }

/* 1 if pc lies in the first `len` bytes of the DLL's function `name`. */
static int ff_pc_in(uint64_t pc, const char *name, uint64_t len) {
  uintptr_t f = tw_dll_fn(name);
  return f != 0 && pc >= f && pc < f + len;
}

/* Pages for code made at run time: allocate them read-write; make the first `len`
 * bytes executable (0 if the OS refuses); set a page no-access or read-only; free. */
static inline uint8_t *ff_code_alloc(size_t len) {
  return VirtualAlloc(NULL, len, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
}
static inline int ff_code_exec(uint8_t *m, size_t len) {
  DWORD old;
  if (!VirtualProtect(m, len, PAGE_EXECUTE_READ, &old))
    return 0;
  FlushInstructionCache(GetCurrentProcess(), m, len);
  return 1;
}
static inline void ff_page_readable(void *p, size_t len, int readable) {
  DWORD old;
  VirtualProtect(p, len, readable ? PAGE_READONLY : PAGE_NOACCESS, &old);
}
static inline void ff_code_free(uint8_t *m, size_t len) {
  (void)len;
  VirtualFree(m, 0, MEM_RELEASE);
}
#else
typedef pthread_t ff_thread;
typedef void *ff_ret;
#define FF_API

static inline void ff_start(ff_thread *t, ff_ret(FF_API *fn)(void *), void *arg) {
  int err = pthread_create(t, NULL, fn, arg);
  if (err != 0) {
    fprintf(stderr, "pthread_create failed: %s\n", strerror(err));
    exit(2);
  }
}
static inline void ff_join(ff_thread *t) { pthread_join(*t, NULL); }
static inline int64_t ff_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
static inline void ff_sleep_ms(int ms) {
  struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) != 0 && errno == EINTR)
    ;
}
static inline int64_t ff_tid(void) { return (int64_t)syscall(SYS_gettid); }

typedef pthread_barrier_t ff_barrier;
static inline void ff_barrier_init(ff_barrier *b, int n) {
  pthread_barrier_init(b, NULL, (unsigned)n);
}
static inline void ff_barrier_wait(ff_barrier *b) { pthread_barrier_wait(b); }
static inline void ff_barrier_destroy(ff_barrier *b) { pthread_barrier_destroy(b); }

static const char *symbol_at(uint64_t pc) {
  Dl_info info;
  if (dladdr((void *)(uintptr_t)pc, &info) == 0 || info.dli_sname == NULL)
    return "?";
  return info.dli_sname;
}

/* 1 if pc lies in the function `name` (dladdr's symbol; `len` is not needed here). */
static int ff_pc_in(uint64_t pc, const char *name, uint64_t len) {
  (void)len;
  return strcmp(symbol_at(pc), name) == 0;
}

/* Pages for code made at run time: allocate them read-write; make the first `len`
 * bytes executable (0 if the OS refuses); set a page no-access or read-only; free. */
static inline uint8_t *ff_code_alloc(size_t len) {
  void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return m == MAP_FAILED ? NULL : m;
}
static inline int ff_code_exec(uint8_t *m, size_t len) {
  __builtin___clear_cache((char *)m, (char *)m + len);
  if (mprotect(m, len, PROT_READ | PROT_EXEC) != 0) {
    printf(FF_TEST_NAME ": note: mprotect(PROT_EXEC): %s\n", strerror(errno));
    return 0;
  }
  return 1;
}
static inline void ff_page_readable(void *p, size_t len, int readable) {
  mprotect(p, len, readable ? PROT_READ : PROT_NONE);
}
static inline void ff_code_free(uint8_t *m, size_t len) { munmap(m, len); }
#endif

/* ---- Regions ---- */

struct region {
  int slot;
  char *base, *alias;
};

static struct region make_region(int pages, int policy, int fallback) {
  int64_t out[4];
  struct region r = {-1, NULL, NULL};
  int err = mpsprot_region_create(pages * page, out);
  CHECK(err == 0, "create: %s", strerror(err));
  if (err != 0)
    exit(check_report(FF_TEST_NAME));
  r.slot = (int)out[0];
  r.base = (char *)(uintptr_t)out[1];
  r.alias = (char *)(uintptr_t)out[2];
  CHECK(mpsprot_region_set_policy(r.slot, policy, fallback) == 0, "set policy");
  return r;
}

static void protect(struct region *r, int first, int n, int mode) {
  int32_t rf;
  int err = mpsprot_protect(r->slot, first * page, n * page, mode, &rf);
  CHECK(err == 0, "protect: %s", strerror(err));
}

/* For threads other than main: count failures atomically, checked by main. */
static _Atomic int thread_protect_failures;
static void protect_mt(struct region *r, int first, int n, int mode) {
  int32_t rf;
  if (mpsprot_protect(r->slot, first * page, n * page, mode, &rf) != 0)
    atomic_fetch_add(&thread_protect_failures, 1);
}

static int record(struct region *r, int p) {
  return ((unsigned char *)(uintptr_t)mpsprot_region_record(r->slot))[p];
}

static int bit(struct region *r, int which, int p) {
  uint64_t *b = (uint64_t *)(uintptr_t)mpsprot_region_bitmap(r->slot, which);
  return (int)((b[p / 64] >> (p % 64)) & 1);
}

/* ---- A resolver thread: takes one ticket, copies the context, runs an action ---- */

struct resolver {
  ff_thread thread;
  struct region *r;
  int unprotect_page; /* >= 0: mpsprot_protect(page, EMPTY) before resolving */
  int step;           /* 1: mpsprot_context_step instead of unprotecting */
  void (*custom)(struct mpsprot_context *ctx, struct resolver *self);
  int ticket, step_err, step_again_err, can_step_after, parked_n;
  int64_t parked[6];
  struct mpsprot_context seen;
};

static ff_ret FF_API resolver_main(void *arg) {
  struct resolver *s = arg;
  s->ticket = mpsprot_handoff_wait(5000);
  if (s->ticket < 0)
    return (ff_ret)0;
  struct mpsprot_context *ctx =
      (struct mpsprot_context *)(uintptr_t)mpsprot_handoff_context(s->ticket);
  if (ctx == NULL)
    return (ff_ret)0;
  s->parked_n = mpsprot_handoff_parked(s->parked, 2);
  s->seen = *ctx;
  if (s->custom != NULL)
    s->custom(ctx, s);
  else if (s->step) {
    s->step_err = mpsprot_context_step((int64_t)(uintptr_t)ctx);
    /* A collector that asks twice: the second step is refused, so the mutator resumes
     * right after the faulting instruction, not one further. */
    s->can_step_after = mpsprot_context_can_step((int64_t)(uintptr_t)ctx);
    s->step_again_err = mpsprot_context_step((int64_t)(uintptr_t)ctx);
  }
  else if (s->unprotect_page >= 0)
    protect_mt(s->r, s->unprotect_page, 1, 0);
  mpsprot_handoff_resolve(s->ticket, MPSPROT_RESOLVE_RESUME);
  return (ff_ret)0;
}

static void resolver_start(struct resolver *s, struct region *r, int unprotect_page) {
  memset(&s->seen, 0, sizeof s->seen);
  s->r = r;
  s->unprotect_page = unprotect_page;
  s->ticket = -1;
  s->parked_n = -1;
  ff_start(&s->thread, resolver_main, s);
}

/* ---- Stores the decoders step or refuse, and a context describing the first ---- */

#if defined(__x86_64__)
#define HOST_ARCH MPSPROT_ARCH_X86_64
#elif defined(__aarch64__)
#define HOST_ARCH MPSPROT_ARCH_AARCH64
#else
#error "fault_fixture.h: x86-64 or aarch64 only"
#endif

#if defined(_WIN32)
/* The Windows x64 convention passes p in rcx and v in rdx: the accessors' store, like
 * plain_store's, is mov %edx,(%rcx). */
__attribute__((noinline)) static void locked_inc(volatile uint32_t *p) {
  /* ds: lock incl (%rcx), bytes written out (the assembler drops a redundant DS):
   * the decoders step LOCK INC, but not with a segment override */
  __asm__ volatile(".byte 0x3e, 0xf0, 0xff, 0x01" : : "c"(p) : "memory");
}

__attribute__((noinline)) static void plain_store(volatile uint32_t *p, uint32_t v) {
  __asm__ volatile("movl %1, (%0)" : : "c"(p), "d"(v) : "memory");
}
#elif defined(__x86_64__)
/* ds: lock incl (%rdi): a read-modify-write the decoders refuse (they step LOCK INC, but
 * not with a segment override). */
__attribute__((noinline, noipa)) static void locked_inc(volatile uint32_t *p) {
  __asm__ volatile(".byte 0x3e, 0xf0, 0xff, 0x07" : : "D"(p) : "memory"); /* ds: lock incl (%rdi) */
}

__attribute__((noinline, noipa)) static void plain_store(volatile uint32_t *p, uint32_t v) {
  __asm__ volatile("movl %1, (%0)" : : "D"(p), "S"(v) : "memory");
}
#else
/* An exclusive load/store loop (ARMv8.0, no LSE needed): the decoder refuses STXR; the
 * fault clears the exclusive monitor, so the loop runs again after the page opens. */
__attribute__((noinline, noipa)) static void locked_inc(volatile uint32_t *p) {
  uint32_t v, fail;
  __asm__ volatile("1: ldxr %w0, [%2]\n\t"
                   "add %w0, %w0, #1\n\t"
                   "stxr %w1, %w0, [%2]\n\t"
                   "cbnz %w1, 1b"
                   : "=&r"(v), "=&r"(fail)
                   : "r"(p)
                   : "memory");
}

__attribute__((noinline, noipa)) static void plain_store(volatile uint32_t *p, uint32_t v) {
  __asm__ volatile("str %w1, [%0]" : : "r"(p), "r"(v) : "memory");
}
#endif

/* A context for the store that mpsprot_put_u32 and plain_store compile to, at addr:
 * Windows x86-64 mov %edx,(%rcx); Linux x86-64 mov %esi,(%rdi); aarch64 str w1,[x0]. */
static void probe_store(struct mpsprot_context *probe, struct region *r, char *addr) {
  memset(probe, 0, sizeof *probe);
  probe->address = (uint64_t)(uintptr_t)addr;
  probe->arch = HOST_ARCH;
  probe->access = MPSPROT_ACCESS_WRITE;
  probe->slot = r->slot;
#if defined(_WIN32)
  probe->insn[0] = 0x89; /* mov %edx,(%rcx) */
  probe->insn[1] = 0x11;
  probe->insn_len = 2;
  probe->regs[1] = probe->address;
#elif defined(__x86_64__)
  probe->insn[0] = 0x89; /* mov %esi,(%rdi) */
  probe->insn[1] = 0x37;
  probe->insn_len = 2;
  probe->regs[7] = probe->address;
#else
  static const uint8_t str_w1_x0[4] = {0x01, 0x00, 0x00, 0xb9}; /* str w1,[x0] */
  memcpy(probe->insn, str_w1_x0, 4);
  probe->insn_len = 4;
  probe->regs[0] = probe->address;
#endif
}

/* ---- The accessor handoff: the write fault's context, a read fault, the collector's
 * step ---- */

/* The registers mpsprot_put_u32(addr, value) holds its arguments in when it stores:
 * Windows x64 rcx and rdx, System V x86-64 rdi and rsi, aarch64 x0 and w1. */
#if defined(_WIN32)
#define ACCESSOR_ADDR_REG 1
#define ACCESSOR_VALUE_REG 2
#elif defined(__x86_64__)
#define ACCESSOR_ADDR_REG 7
#define ACCESSOR_VALUE_REG 6
#else
#define ACCESSOR_ADDR_REG 0
#define ACCESSOR_VALUE_REG 1
#endif

/* The context of an accessor's write and read fault, resolved by a second thread. */
static void test_handoff_accessors(void) {
  struct region r = make_region(4, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST);
  int64_t handoffs = mpsprot_counter(MPSPROT_COUNT_HANDOFFS);
  int64_t writes = mpsprot_counter(MPSPROT_COUNT_FAULTS_WRITE);
  char *addr = r.base + page + 12;

  protect(&r, 1, 1, MPSPROT_ACCESS_WRITE);
  struct resolver s = {0};
  resolver_start(&s, &r, 1);
#ifdef _WIN32
  SetLastError(4321);
#endif
  mpsprot_put_u32((int64_t)(uintptr_t)addr, 0xdeadbeefu);
#ifdef _WIN32
  DWORD last = GetLastError();
#endif
  ff_join(&s.thread);
  struct mpsprot_context *c = &s.seen;
  CHECK(s.ticket >= 0, "the resolver got a ticket");
#ifdef _WIN32
  CHECK(last == 4321, "the handler kept the thread's last error: %lu", (unsigned long)last);
#endif
  CHECK(*(uint32_t *)addr == 0xdeadbeefu, "the store happened after the resume: %x",
        *(uint32_t *)addr);
  CHECK(c->address == (uint64_t)(uintptr_t)addr, "exact address %llx, want %p",
        (unsigned long long)c->address, (void *)addr);
  CHECK(c->access == MPSPROT_ACCESS_WRITE, "access %d", c->access);
  CHECK(ff_pc_in(c->pc, "mpsprot_put_u32", 16), "pc %llx in mpsprot_put_u32",
        (unsigned long long)c->pc);
  CHECK(c->flags & MPSPROT_CTX_NATIVE, "native flag (accessor), flags %d", c->flags);
  CHECK(c->tid == (int32_t)ff_tid(), "tid %d, want %lld", c->tid, (long long)ff_tid());
  CHECK(c->slot == r.slot, "slot %d", c->slot);
  CHECK(c->arch == HOST_ARCH, "arch %d", c->arch);
#if defined(__x86_64__)
  CHECK(c->insn_len > 0 && c->insn_len <= 16, "insn_len %d", c->insn_len);
#else
  CHECK(c->insn_len == 4, "insn_len %d", c->insn_len);
#endif
  CHECK(c->insn_len > 0 && memcmp(c->insn, (void *)(uintptr_t)c->pc, (size_t)c->insn_len) == 0,
        "insn bytes are the code at pc");
  CHECK(c->regs[ACCESSOR_ADDR_REG] == (uint64_t)(uintptr_t)addr,
        "regs[%d] holds the address: %llx", ACCESSOR_ADDR_REG,
        (unsigned long long)c->regs[ACCESSOR_ADDR_REG]);
  CHECK((uint32_t)c->regs[ACCESSOR_VALUE_REG] == 0xdeadbeefu, "regs[%d] holds the value: %llx",
        ACCESSOR_VALUE_REG, (unsigned long long)c->regs[ACCESSOR_VALUE_REG]);
#if defined(__x86_64__)
  CHECK(c->regs[4] == c->sp && c->sp != 0, "rsp (regs[4]) equals sp");
  CHECK(c->regs[16] & 2, "rflags (regs[16]) bit 1 is always set: %llx",
        (unsigned long long)c->regs[16]);
#else
  CHECK(c->regs[31] == c->sp && c->sp != 0 && c->sp % 16 == 0, "sp (regs[31]) equals sp");
  printf(FF_TEST_NAME ": note: aarch64 access kind from %s\n",
         (c->flags & MPSPROT_CTX_ESR) ? "the ESR record" : "the instruction (no ESR record)");
#endif
  CHECK(c->ucontext != 0, "the OS context's pointer (ucontext, CONTEXT)");
  CHECK(s.parked_n == 1 && s.parked[0] == ff_tid() && s.parked[1] == (int64_t)(uintptr_t)addr
            && s.parked[2] >= 0,
        "parked list: n %d tid %lld addr %llx ns %lld", s.parked_n, (long long)s.parked[0],
        (unsigned long long)s.parked[1], (long long)s.parked[2]);
  CHECK(mpsprot_handoff_context(s.ticket) == 0, "a resolved ticket has no context");
  CHECK(mpsprot_handoff_resolve(s.ticket, MPSPROT_RESOLVE_RESUME) == EINVAL,
        "a ticket resolves once");
  CHECK(mpsprot_counter(MPSPROT_COUNT_HANDOFFS) == handoffs + 1, "HANDOFFS counted");
  CHECK(mpsprot_counter(MPSPROT_COUNT_FAULTS_WRITE) == writes + 1, "FAULTS_WRITE counted");

  /* A read fault on a no-access page; the value was written through the alias. */
  int64_t reads = mpsprot_counter(MPSPROT_COUNT_FAULTS_READ);
  protect(&r, 2, 1, MPSPROT_ACCESS_READ);
  *(uint64_t *)(r.alias + 2 * page + 8) = 0x0123456789abcdefull;
  resolver_start(&s, &r, 2);
  uint64_t v = mpsprot_get_u64((int64_t)(uintptr_t)(r.base + 2 * page + 8));
  ff_join(&s.thread);
  CHECK(v == 0x0123456789abcdefull, "read through the accessor after resume: %llx",
        (unsigned long long)v);
  CHECK(c->address == (uint64_t)(uintptr_t)(r.base + 2 * page + 8), "read address");
  CHECK(c->access == MPSPROT_ACCESS_READ, "read access %d", c->access);
  CHECK(ff_pc_in(c->pc, "mpsprot_get_u64", 16), "pc %llx in mpsprot_get_u64",
        (unsigned long long)c->pc);
  CHECK(c->flags & MPSPROT_CTX_NATIVE, "native flag");
  CHECK(mpsprot_counter(MPSPROT_COUNT_FAULTS_READ) == reads + 1, "FAULTS_READ counted");

  /* The Java collector's ProtStepInstruction on a parked accessor fault (the accessor's
   * store is the one probe_store describes). */
  protect(&r, 3, 1, MPSPROT_ACCESS_WRITE);
  struct mpsprot_context probe;
  probe_store(&probe, &r, r.base + 3 * page);
  int stepping = mpsprot_context_can_step((int64_t)(uintptr_t)&probe);
#ifdef _WIN32
  CHECK(stepping, "the decoders step mov %%edx,(%%rcx)");
#endif
  if (stepping) {
    s.step = 1;
    resolver_start(&s, &r, -1);
    mpsprot_put_u32((int64_t)(uintptr_t)(r.base + 3 * page + 4), 77);
    ff_join(&s.thread);
    s.step = 0;
    CHECK(s.step_err == 0, "mpsprot_context_step: %d", s.step_err);
    CHECK(s.can_step_after == 0, "a stepped context cannot be stepped again");
    CHECK(s.step_again_err == EALREADY, "a second step is refused with EALREADY: %d",
          s.step_again_err);
    CHECK(*(uint32_t *)(r.alias + 3 * page + 4) == 77, "the collector's step stored");
    CHECK(record(&r, 3) == MPSPROT_ACCESS_WRITE, "the page stays protected after a step");
  } else {
    printf(FF_TEST_NAME ": note: the decoders cannot step the store of mpsprot_put_u32: "
           "collector-step check skipped\n");
  }
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
}

/* ---- A plain C store from a declared native mutator; registers in and out ---- */

/* asm_store sets known values in a register (ASM_STORE_REG) = 0x5151, r8 (x8) = 0x8888
 * and xmm2 (v2) = 0x5151, zeroes rax (x0) and xmm1 (v1), stores 0x11223344 to *p with p
 * in ASM_STORE_ADDR_REG (asm_store_insn, between the labels fault_step_insn and
 * fault_step_end), then returns rax and xmm1 as they are after the store.  The context
 * holds ASM_STORE_INSN_LEN bytes at pc. */
extern const char fault_step_insn[], fault_step_end[];

#if defined(_WIN32)
/* rdx = 0x5151, p in rcx; the store is c7 01 44 33 22 11. */
__attribute__((noinline)) static uint64_t asm_store(volatile uint32_t *p, uint64_t *xmm1) {
  uint64_t rax, rdx;
  __asm__ volatile("movl $0x5151, %%edx\n\t"
                   "movl $0x8888, %%r8d\n\t"
                   "movq %%rdx, %%xmm2\n\t"
                   "xorl %%eax, %%eax\n\t"
                   "pxor %%xmm1, %%xmm1\n\t"
                   ".globl fault_step_insn\n"
                   "fault_step_insn:\n\t"
                   "movl $0x11223344, (%%rcx)\n"
                   ".globl fault_step_end\n"
                   "fault_step_end:\n\t"
                   "movq %%xmm1, %%rdx\n\t"
                   : "=a"(rax), "=d"(rdx)
                   : "c"(p)
                   : "r8", "xmm1", "xmm2", "memory");
  *xmm1 = rdx;
  return rax;
}
#define ASM_STORE_REG 2      /* rdx */
#define ASM_STORE_ADDR_REG 1 /* rcx */
#define ASM_STORE_INSN_LEN 16 /* the 16 bytes at pc are all readable */
static const uint8_t asm_store_insn[6] = {0xc7, 0x01, 0x44, 0x33, 0x22, 0x11};
#elif defined(__x86_64__)
/* rcx = 0x5151, p in rdi; the store is c7 07 44 33 22 11. */
__attribute__((noinline, noipa)) static uint64_t asm_store(volatile uint32_t *p,
                                                           uint64_t *xmm1) {
  uint64_t rax, rdx;
  __asm__ volatile("movl $0x5151, %%ecx\n\t"
                   "movl $0x8888, %%r8d\n\t"
                   "movq %%rcx, %%xmm2\n\t"
                   "xorl %%eax, %%eax\n\t"
                   "pxor %%xmm1, %%xmm1\n\t"
                   ".globl fault_step_insn\n"
                   "fault_step_insn:\n\t"
                   "movl $0x11223344, (%%rdi)\n"
                   ".globl fault_step_end\n"
                   "fault_step_end:\n\t"
                   "movq %%xmm1, %%rdx\n\t"
                   : "=a"(rax), "=d"(rdx)
                   : "D"(p)
                   : "rcx", "r8", "xmm1", "xmm2", "memory");
  *xmm1 = rdx;
  return rax;
}
#define ASM_STORE_REG 1      /* rcx */
#define ASM_STORE_ADDR_REG 7 /* rdi */
#define ASM_STORE_INSN_LEN 16 /* the 16 bytes at pc are all readable */
static const uint8_t asm_store_insn[6] = {0xc7, 0x07, 0x44, 0x33, 0x22, 0x11};
#else
/* aarch64, with the x86-64 register numbers: x1 = 0x5151, x8 = 0x8888, v2 = 0x5151, x0
 * and v1 zeroed, then str w9,[x10] (b9000149) with w9 = 0x11223344 and x10 = p. */
__attribute__((noinline, noipa)) static uint64_t asm_store(volatile uint32_t *p,
                                                           uint64_t *xmm1) {
  uint64_t x0, d1;
  __asm__ volatile("mov x10, %2\n\t"
                   "mov x1, #0x5151\n\t"
                   "mov x8, #0x8888\n\t"
                   "fmov d2, x1\n\t"
                   "mov x0, #0\n\t"
                   "movi v1.2d, #0\n\t"
                   "movz w9, #0x3344\n\t"
                   "movk w9, #0x1122, lsl #16\n"
                   ".globl fault_step_insn\n"
                   "fault_step_insn:\n\t"
                   "str w9, [x10]\n"
                   ".globl fault_step_end\n"
                   "fault_step_end:\n\t"
                   "mov %0, x0\n\t"
                   "fmov %1, d1\n\t"
                   : "=r"(x0), "=r"(d1)
                   : "r"(p)
                   : "x0", "x1", "x8", "x9", "x10", "v1", "v2", "memory");
  *xmm1 = d1;
  return x0;
}
#define ASM_STORE_REG 1       /* x1 */
#define ASM_STORE_ADDR_REG 10 /* x10 */
#define ASM_STORE_INSN_LEN 4
static const uint8_t asm_store_insn[4] = {0x49, 0x01, 0x00, 0xb9};
#endif

/* A collector that "steps" the store by hand: the store through the alias, rax (x0)
 * and xmm1 (v1) changed, pc advanced. */
static void hand_step(struct mpsprot_context *ctx, struct resolver *s) {
  char *alias = s->r->alias + (ctx->address - (uint64_t)(uintptr_t)s->r->base);
  *(volatile uint32_t *)alias = 0x11223344u;
  ctx->regs[0] = 0xabcull;
  uint64_t pattern = 0x5a5a0000a5a5ull;
  memcpy(ctx->vregs[1], &pattern, 8);
  ctx->pc += (uint64_t)(fault_step_end - fault_step_insn);
  ctx->flags |= MPSPROT_CTX_STEPPED;
}

static void test_native_mutator(void) {
  struct region r = make_region(2, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST);
  volatile uint32_t *p = (volatile uint32_t *)(r.base + page + 40);
  struct resolver s = {0};
  uint64_t xmm1;

  /* Resolved by unprotecting: the store retries. */
  protect(&r, 1, 1, MPSPROT_ACCESS_WRITE);
  resolver_start(&s, &r, 1);
  mpsprot_native_mutator_begin();
  uint64_t rax = asm_store(p, &xmm1);
  mpsprot_native_mutator_end();
  ff_join(&s.thread);
  struct mpsprot_context *c = &s.seen;
  CHECK(*p == 0x11223344u, "the plain store happened after the resume");
  CHECK(rax == 0 && xmm1 == 0, "registers untouched by a retry: rax %llx xmm1 %llx",
        (unsigned long long)rax, (unsigned long long)xmm1);
  CHECK(c->pc == (uint64_t)(uintptr_t)fault_step_insn, "pc %llx, want %p",
        (unsigned long long)c->pc, (void *)fault_step_insn);
  CHECK(c->flags & MPSPROT_CTX_NATIVE, "native flag (declared native mutator)");
  CHECK(c->access == MPSPROT_ACCESS_WRITE && c->address == (uint64_t)(uintptr_t)p,
        "access %d address", c->access);
  CHECK(c->regs[ASM_STORE_REG] == 0x5151 && c->regs[8] == 0x8888 && c->regs[0] == 0
            && c->regs[ASM_STORE_ADDR_REG] == (uint64_t)(uintptr_t)p,
        "regs[%d] %llx, r8 (regs[8]) %llx, rax %llx, regs[%d] %llx", ASM_STORE_REG,
        (unsigned long long)c->regs[ASM_STORE_REG], (unsigned long long)c->regs[8],
        (unsigned long long)c->regs[0], ASM_STORE_ADDR_REG,
        (unsigned long long)c->regs[ASM_STORE_ADDR_REG]);
  uint64_t x2;
  memcpy(&x2, c->vregs[2], 8);
  CHECK(x2 == 0x5151, "xmm2 (vregs[2]) low bytes %llx", (unsigned long long)x2);
  CHECK(c->insn_len == ASM_STORE_INSN_LEN
            && memcmp(c->insn, asm_store_insn, sizeof asm_store_insn) == 0,
        "insn bytes (len %d)", c->insn_len);

  /* Resolved by a hand-made step: registers, xmm and pc written back into the context
   * the OS resumes from; the page stays protected. */
  *p = 0;
  protect(&r, 1, 1, MPSPROT_ACCESS_WRITE);
  s.custom = hand_step;
  resolver_start(&s, &r, -1);
  mpsprot_native_mutator_begin();
  rax = asm_store(p, &xmm1);
  mpsprot_native_mutator_end();
  ff_join(&s.thread);
  s.custom = NULL;
  CHECK(rax == 0xabc, "rax written back: %llx", (unsigned long long)rax);
  CHECK(xmm1 == 0x5a5a0000a5a5ull, "xmm1 written back: %llx", (unsigned long long)xmm1);
  CHECK(*p == 0x11223344u, "the stepped store is visible");
  CHECK(record(&r, 1) == MPSPROT_ACCESS_WRITE, "still protected: record %d", record(&r, 1));
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
}

/* ---- The instruction bytes near the end of a code page ---- */

/* No read into an unreadable next page (on Windows ReadProcessMemory reports it instead
 * of faulting).  x86-64: a 6-byte store and ret in the last 7 bytes of the page, which
 * the context holds, and the bytes after them if the next page is readable.  aarch64:
 * str w1,[x0]; ret in the last 8 bytes: the context holds exactly the 4 bytes at pc. */
static void test_insn_near_page_end(void) {
#if defined(_WIN32)
  static const uint8_t code[] = {0xc7, 0x01, 0x44, 0x33, 0x22, 0x11, 0xc3}; /* movl $,(%rcx) */
  const int fill = 0xcc, insn_len = 6;
#elif defined(__x86_64__)
  static const uint8_t code[] = {0xc7, 0x07, 0x44, 0x33, 0x22, 0x11, 0xc3}; /* movl $,(%rdi) */
  const int fill = 0xcc, insn_len = 6;
#else
  static const uint8_t code[] = {0x01, 0x00, 0x00, 0xb9, 0xc0, 0x03, 0x5f, 0xd6};
  const int fill = 0, insn_len = 4; /* 0 is udf #0 */
#endif
  const int n = (int)sizeof code;
  uint8_t *m = ff_code_alloc(2 * (size_t)page);
  CHECK(m != NULL, "two pages for code");
  if (m == NULL)
    return;
  memset(m, fill, 2 * page);
  memcpy(m + page - n, code, (size_t)n);
  if (!ff_code_exec(m, (size_t)page)) {
    printf(FF_TEST_NAME ": note: no executable page here: insn-at-page-end skipped\n");
    ff_code_free(m, 2 * (size_t)page);
    return;
  }
  void (*f)(volatile uint32_t *, uint32_t) =
      (void (*)(volatile uint32_t *, uint32_t))(void *)(m + page - n);
  struct region r = make_region(1, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST);
  for (int readable = 0; readable <= 1; readable++) {
    ff_page_readable(m + page, (size_t)page, readable);
    protect(&r, 0, 1, MPSPROT_ACCESS_WRITE);
    struct resolver s = {0};
    resolver_start(&s, &r, 0);
    mpsprot_native_mutator_begin();
    f((volatile uint32_t *)r.base, 0x11223344u);
    mpsprot_native_mutator_end();
    ff_join(&s.thread);
    CHECK(s.seen.pc == (uint64_t)(uintptr_t)(m + page - n), "pc %d bytes before the page end",
          n);
    CHECK(s.seen.access == MPSPROT_ACCESS_WRITE, "a write: access %d", s.seen.access);
#if defined(__x86_64__)
    (void)insn_len;
    CHECK(s.seen.insn_len == (readable ? 16 : n), "next page %s: insn_len %d",
          readable ? "readable" : "unreadable", s.seen.insn_len);
    CHECK(memcmp(s.seen.insn, code, (size_t)n) == 0, "the bytes up to the page end");
    if (readable)
      CHECK(s.seen.insn[7] == fill && s.seen.insn[15] == fill, "the bytes after it");
#else
    CHECK(s.seen.insn_len == insn_len, "next page %s: insn_len %d",
          readable ? "readable" : "unreadable", s.seen.insn_len);
    CHECK(memcmp(s.seen.insn, code, (size_t)insn_len) == 0, "the instruction's bytes");
#endif
    CHECK(*(uint32_t *)r.base == 0x11223344u, "stored after resume");
    *(uint32_t *)r.base = 0;
  }
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
  ff_code_free(m, 2 * (size_t)page);
}

/* ---- The policy arguments ---- */

static void test_policy_args(void) {
  struct region r = make_region(1, MPSPROT_POLICY_NONE, MPSPROT_FALLBACK_FAIL_FAST);
  CHECK(mpsprot_region_set_policy(r.slot, 4, 0) == EINVAL, "bad policy");
  CHECK(mpsprot_region_set_policy(r.slot, 1, 2) == EINVAL, "bad fallback");
  CHECK(mpsprot_region_set_policy(-1, 1, 0) == EINVAL, "bad slot");
  CHECK(mpsprot_counter(-1) == -1 && mpsprot_counter(MPSPROT_COUNT_N) == -1, "bad counter");
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
  CHECK(mpsprot_region_bitmap(r.slot, 0) == 0, "no bitmap after destroy");
}

/* ---- The accessors' values, mpsprot_copy's overlaps, a fault inside mpsprot_copy ---- */

static void test_accessors(void) {
  struct region r = make_region(3, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST);
  int64_t a = (int64_t)(uintptr_t)r.base;
  mpsprot_put_u8(a + 1, 0xab);
  mpsprot_put_u16(a + 2, 0xcdef);
  mpsprot_put_u32(a + 4, 0x01234567u);
  mpsprot_put_u64(a + 8, 0x89abcdef01234567ull);
  mpsprot_put_u64(a + 17, 0x1122334455667788ull); /* unaligned */
  CHECK(mpsprot_get_u8(a + 1) == 0xab && mpsprot_get_u16(a + 2) == 0xcdef
            && mpsprot_get_u32(a + 4) == 0x01234567u
            && mpsprot_get_u64(a + 8) == 0x89abcdef01234567ull
            && mpsprot_get_u64(a + 17) == 0x1122334455667788ull && r.base[0] == 0
            && *(uint16_t *)(r.base + 2) == 0xcdef,
        "accessor values");

  unsigned char want[256];
  for (int i = 0; i < 256; i++)
    r.base[100 + i] = (char)i;
  mpsprot_copy(a + 1000, a + 100, 256); /* disjoint, differently aligned */
  CHECK(memcmp(r.base + 1000, r.base + 100, 256) == 0, "copy");
  for (int i = 0; i < 256; i++)
    want[i] = (unsigned char)r.base[100 + i];
  mpsprot_copy(a + 105, a + 100, 200); /* forwards overlap: dst after src */
  CHECK(memcmp(r.base + 105, want, 200) == 0, "overlapping copy, dst above src");
  for (int i = 0; i < 256; i++)
    r.base[100 + i] = (char)i;
  mpsprot_copy(a + 96, a + 104, 200); /* dst below src, both 8-aligned */
  CHECK(memcmp(r.base + 96, want + 4, 200) == 0, "overlapping copy, dst below src");
  mpsprot_copy(a, a + 1, 0);
  mpsprot_copy(a, a + 1, -5);
  CHECK(r.base[0] == 0, "len <= 0 copies nothing");

  /* The copy faults on its first byte in page 1 (write-protected): parks, is resolved. */
  memset(r.base + page - 64, 0x5a, 128);
  memset(r.base + 2 * page, 0x77, 128);
  protect(&r, 1, 1, MPSPROT_ACCESS_WRITE);
  struct resolver s = {0};
  resolver_start(&s, &r, 1);
  mpsprot_copy(a + page - 64, a + 2 * page, 128);
  ff_join(&s.thread);
  CHECK(s.seen.address == (uint64_t)(uintptr_t)(r.base + page), "fault at the page start");
  CHECK(ff_pc_in(s.seen.pc, "mpsprot_copy", 0x200) && (s.seen.flags & MPSPROT_CTX_NATIVE),
        "pc %llx in mpsprot_copy, native", (unsigned long long)s.seen.pc);
  CHECK(memcmp(r.base + page - 64, r.base + 2 * page, 128) == 0, "the copy completed");
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
}

/* ---- Many mutators, many barrier threads, more parked than slots ---- */

#define MUTATORS 70
#define ROUNDS 20

static struct region many;
static _Atomic int many_done;

static ff_ret FF_API many_mutator(void *arg) {
  int i = (int)(intptr_t)arg;
  char *p = many.base + i * page;
  for (int k = 1; k <= ROUNDS; k++) {
    protect_mt(&many, i, 1, MPSPROT_ACCESS_WRITE);
    mpsprot_put_u64((int64_t)(uintptr_t)p, (uint64_t)k);
  }
  atomic_fetch_add(&many_done, 1);
  return (ff_ret)0;
}

static _Atomic int barrier_resolved;

static ff_ret FF_API many_barrier(void *arg) {
  (void)arg;
  while (atomic_load(&many_done) < MUTATORS) {
    int t = mpsprot_handoff_wait(100);
    if (t < 0)
      continue;
    struct mpsprot_context *c = (struct mpsprot_context *)(uintptr_t)mpsprot_handoff_context(t);
    if (c == NULL)
      continue;
    int p = (int)((c->address - (uint64_t)(uintptr_t)many.base) / (uint64_t)page);
    protect_mt(&many, p, 1, 0);
    if (mpsprot_handoff_resolve(t, MPSPROT_RESOLVE_RESUME) == 0)
      atomic_fetch_add(&barrier_resolved, 1);
  }
  return (ff_ret)0;
}

static void test_many(void) {
  many = make_region(MUTATORS, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST);
  int64_t handoffs = mpsprot_counter(MPSPROT_COUNT_HANDOFFS);
  ff_thread m[MUTATORS], b[3];
  for (int i = 0; i < MUTATORS; i++)
    ff_start(&m[i], many_mutator, (void *)(intptr_t)i);
  /* No barrier thread yet: 64 park in slots, the rest wait for a free slot. */
  int64_t deadline = ff_now_ms() + 5000;
  int64_t parked[3 * 128];
  int n = 0;
  while (ff_now_ms() < deadline && (n = mpsprot_handoff_parked(parked, 128)) < 64)
    ff_sleep_ms(1);
  CHECK(n == 64, "all 64 handoff slots hold a parked mutator: %d", n);
  int in_list = 0;
  for (int i = 0; i < n; i++)
    in_list += mpsprot_region_find(parked[3 * i + 1]) == many.slot && parked[3 * i] > 0;
  CHECK(in_list == n, "the parked list names tids and addresses in the region");
  ff_sleep_ms(20);
  CHECK(mpsprot_handoff_parked(parked, 128) == 64, "the others wait for a slot");
  for (int i = 0; i < 3; i++)
    ff_start(&b[i], many_barrier, NULL);
  for (int i = 0; i < MUTATORS; i++)
    ff_join(&m[i]);
  for (int i = 0; i < 3; i++)
    ff_join(&b[i]);
  int ok = 1;
  for (int i = 0; i < MUTATORS; i++)
    ok &= *(uint64_t *)(many.base + i * page) == ROUNDS;
  CHECK(ok, "every mutator's stores happened");
  CHECK(atomic_load(&barrier_resolved) == MUTATORS * ROUNDS, "resolved %d",
        atomic_load(&barrier_resolved));
  CHECK(mpsprot_counter(MPSPROT_COUNT_HANDOFFS) - handoffs == MUTATORS * ROUNDS, "HANDOFFS %lld",
        (long long)(mpsprot_counter(MPSPROT_COUNT_HANDOFFS) - handoffs));
  CHECK(mpsprot_handoff_parked(parked, 128) == 0, "nobody parked at the end");
  CHECK(mpsprot_region_destroy(many.slot) == 0, "destroy");

  int64_t t0 = ff_now_ms();
  CHECK(mpsprot_handoff_wait(50) == -1, "wait times out with nothing parked");
  CHECK(ff_now_ms() - t0 >= 45, "after the timeout: %lld ms", (long long)(ff_now_ms() - t0));
  CHECK(mpsprot_handoff_context(-1) == 0 && mpsprot_handoff_context(12345) == 0,
        "no context for bad tickets");
  CHECK(mpsprot_handoff_resolve(12345, MPSPROT_RESOLVE_RESUME) == EINVAL, "bad ticket");
  CHECK(mpsprot_handoff_resolve(0, 7) == EINVAL, "bad outcome");
}

/* ---- UNPROTECT ---- */

static void test_unprotect(void) {
  struct region r = make_region(4, MPSPROT_POLICY_UNPROTECT, MPSPROT_FALLBACK_FAIL_FAST);
  int64_t unprot = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  int64_t writes = mpsprot_counter(MPSPROT_COUNT_FAULTS_WRITE);
  int64_t reads = mpsprot_counter(MPSPROT_COUNT_FAULTS_READ);
  protect(&r, 0, 1, MPSPROT_ACCESS_WRITE);
  protect(&r, 1, 1, MPSPROT_ACCESS_READ);
  protect(&r, 2, 1, MPSPROT_ACCESS_ALL);

  *(volatile uint64_t *)(r.base + 16) = 5; /* write on {WRITE} */
  CHECK(record(&r, 0) == 0, "write fault opens the page: record %d", record(&r, 0));
  CHECK(bit(&r, 0, 0) && !bit(&r, 1, 0), "dirty bit, not touched");
#ifdef _WIN32
  CHECK(strcmp(tw_perms(r.base), "rw") == 0, "VirtualQuery agrees: %s", tw_perms(r.base));
#endif
  *(volatile uint64_t *)(r.base + 24) = 6; /* no second fault */

  uint64_t v = *(volatile uint64_t *)(r.base + page); /* read on {READ}: no access */
  CHECK(v == 0 && record(&r, 1) == 0, "read fault on {READ} gives EMPTY: %d", record(&r, 1));
  CHECK(bit(&r, 1, 1) && !bit(&r, 0, 1), "touched bit, not dirty");
  *(volatile uint64_t *)(r.base + page) = 1; /* no fault: fully open */

  v = *(volatile uint64_t *)(r.base + 2 * page); /* read on {READ,WRITE} */
  CHECK(record(&r, 2) == MPSPROT_ACCESS_WRITE, "read fault on {R,W} gives {W}: %d",
        record(&r, 2));
#ifdef _WIN32
  CHECK(strcmp(tw_perms(r.base + 2 * page), "r-") == 0, "VirtualQuery: read-only");
#endif
  CHECK(bit(&r, 1, 2) && !bit(&r, 0, 2), "touched, not dirty yet");
  *(volatile uint64_t *)(r.base + 2 * page) = 2; /* write fault now */
  CHECK(record(&r, 2) == 0 && bit(&r, 0, 2), "then the write opens it, dirty");
  mpsprot_put_u8((int64_t)(uintptr_t)(r.base + 3 * page), 1); /* open page: no fault */

  CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - unprot == 4, "UNPROTECTED %lld",
        (long long)(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - unprot));
  CHECK(mpsprot_counter(MPSPROT_COUNT_FAULTS_WRITE) - writes == 2, "write faults");
  CHECK(mpsprot_counter(MPSPROT_COUNT_FAULTS_READ) - reads == 2, "read faults");
  CHECK(mpsprot_region_bitmap(r.slot, 2) == 0, "no third bitmap");

  /* A deterministic spurious fault: the OS forbids what the record allows (changed
   * behind the module's back).  The handler retries once, then re-applies the record. */
  int64_t spurious = mpsprot_counter(MPSPROT_COUNT_SPURIOUS);
  unprot = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
#ifdef _WIN32
  DWORD old;
  VirtualProtect(r.base + 3 * page, page, PAGE_READONLY, &old);
#else
  mprotect(r.base + 3 * page, page, PROT_READ);
#endif
  *(volatile uint64_t *)(r.base + 3 * page) = 9;
  CHECK(*(uint64_t *)(r.base + 3 * page) == 9, "the store went through");
  CHECK(mpsprot_counter(MPSPROT_COUNT_SPURIOUS) - spurious == 2, "SPURIOUS %lld",
        (long long)(mpsprot_counter(MPSPROT_COUNT_SPURIOUS) - spurious));
  CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) == unprot, "not counted as unprotected");
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
}

/* Two threads write the same protected page at once, many times: every fault is either
 * resolved or spurious, and nothing is lost. */
static struct region race;
static ff_barrier race_go;
#define RACE_ROUNDS 300

static ff_ret FF_API race_writer(void *arg) {
  int id = (int)(intptr_t)arg;
  for (int k = 0; k < RACE_ROUNDS; k++) {
    ff_barrier_wait(&race_go);
    *(volatile uint64_t *)(race.base + (k % 8) * page + 8 * id) = (uint64_t)k + 1;
    ff_barrier_wait(&race_go);
  }
  return (ff_ret)0;
}

static void test_spurious_race(void) {
  race = make_region(8, MPSPROT_POLICY_UNPROTECT, MPSPROT_FALLBACK_FAIL_FAST);
  int64_t w0 = mpsprot_counter(MPSPROT_COUNT_FAULTS_WRITE);
  int64_t u0 = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  int64_t s0 = mpsprot_counter(MPSPROT_COUNT_SPURIOUS);
  ff_barrier_init(&race_go, 3);
  ff_thread t[2];
  for (int i = 0; i < 2; i++)
    ff_start(&t[i], race_writer, (void *)(intptr_t)i);
  int lost = 0;
  for (int k = 0; k < RACE_ROUNDS; k++) {
    protect(&race, k % 8, 1, MPSPROT_ACCESS_WRITE);
    ff_barrier_wait(&race_go);
    ff_barrier_wait(&race_go);
    for (int id = 0; id < 2; id++)
      lost += *(volatile uint64_t *)(race.base + (k % 8) * page + 8 * id) != (uint64_t)k + 1;
  }
  for (int i = 0; i < 2; i++)
    ff_join(&t[i]);
  int64_t w = mpsprot_counter(MPSPROT_COUNT_FAULTS_WRITE) - w0;
  int64_t u = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - u0;
  int64_t s = mpsprot_counter(MPSPROT_COUNT_SPURIOUS) - s0;
  CHECK(lost == 0, "%d stores lost", lost);
  CHECK(u == RACE_ROUNDS, "one page opening per round: %lld", (long long)u);
  CHECK(w == u + s && w >= RACE_ROUNDS && w <= 2 * RACE_ROUNDS,
        "faults %lld = unprotected %lld + spurious %lld", (long long)w, (long long)u,
        (long long)s);
  printf(FF_TEST_NAME ": note: %lld spurious faults in %d racing rounds\n", (long long)s,
         RACE_ROUNDS);
  ff_barrier_destroy(&race_go);
  CHECK(mpsprot_region_destroy(race.slot) == 0, "destroy");
}

/* ---- STEP ---- */

static void test_step(void) {
  struct region r = make_region(2, MPSPROT_POLICY_STEP, MPSPROT_FALLBACK_FAIL_FAST);
  struct mpsprot_log_entry e[8];
  CHECK(mpsprot_log_drain(r.slot, e, 8) == 0, "an empty log");
  struct mpsprot_context probe;
  probe_store(&probe, &r, r.base);
  int stepping = mpsprot_context_can_step((int64_t)(uintptr_t)&probe);
#ifdef _WIN32
  CHECK(stepping, "mov %%edx,(%%rcx) steps");
#else
  if (!stepping)
    printf(FF_TEST_NAME ": note: no decoder steps plain_store's store: STEP must fall back\n");
#endif

  int64_t st = mpsprot_counter(MPSPROT_COUNT_STEPPED);
  int64_t un = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  protect(&r, 0, 1, MPSPROT_ACCESS_WRITE);
  plain_store((volatile uint32_t *)(r.base + 64), 4242);
  CHECK(*(uint32_t *)(r.base + 64) == 4242, "the store is visible");
  if (stepping) {
    CHECK(mpsprot_counter(MPSPROT_COUNT_STEPPED) - st == 1, "STEPPED");
    CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) == un, "not unprotected");
    CHECK(record(&r, 0) == MPSPROT_ACCESS_WRITE, "the protection stays");
#ifdef _WIN32
    CHECK(strcmp(tw_perms(r.base), "r-") == 0, "VirtualQuery: still read-only");
#endif
    CHECK(!bit(&r, 0, 0), "no dirty bit: the log holds the write");
    int n = mpsprot_log_drain(r.slot, e, 8);
    CHECK(n == 1 && e[0].address == (uint64_t)(uintptr_t)(r.base + 64) && e[0].before == 0
              && e[0].after == 4242 && e[0].access == MPSPROT_ACCESS_WRITE && e[0].size == 4,
          "log entry: n %d", n);
  } else {
    CHECK(mpsprot_counter(MPSPROT_COUNT_STEPPED) == st, "STEPPED stays");
    CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - un == 1, "fell back to UNPROTECT");
    CHECK(record(&r, 0) == 0 && bit(&r, 0, 0), "opened and dirty");
  }

  /* An instruction no decoder steps: UNPROTECT. */
  st = mpsprot_counter(MPSPROT_COUNT_STEPPED);
  un = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  protect(&r, 1, 1, MPSPROT_ACCESS_WRITE);
  *(uint32_t *)(r.alias + page) = 41;
  locked_inc((volatile uint32_t *)(r.base + page));
  CHECK(*(uint32_t *)(r.base + page) == 42, "the locked increment ran once");
  CHECK(mpsprot_counter(MPSPROT_COUNT_STEPPED) == st, "not stepped");
  CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - un == 1, "UNPROTECT fallback");
  CHECK(record(&r, 1) == 0 && bit(&r, 0, 1), "opened and dirty");

  if (stepping) {
    /* Fill the log, then one more: LOG_FULL, and UNPROTECT instead. */
    protect(&r, 0, 1, MPSPROT_ACCESS_WRITE);
    int64_t full = mpsprot_counter(MPSPROT_COUNT_LOG_FULL);
    st = mpsprot_counter(MPSPROT_COUNT_STEPPED);
    for (int i = 0; i < MPSPROT_LOG_CAPACITY; i++)
      plain_store((volatile uint32_t *)(r.base + 4 * (i % 1024)), (uint32_t)i);
    CHECK(mpsprot_counter(MPSPROT_COUNT_STEPPED) - st == MPSPROT_LOG_CAPACITY, "stepped %lld",
          (long long)(mpsprot_counter(MPSPROT_COUNT_STEPPED) - st));
    CHECK(record(&r, 0) == MPSPROT_ACCESS_WRITE, "still protected");
    un = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
    plain_store((volatile uint32_t *)(r.base + 8), 99999);
    CHECK(mpsprot_counter(MPSPROT_COUNT_LOG_FULL) - full == 1, "LOG_FULL");
    CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - un == 1, "fell back");
    CHECK(record(&r, 0) == 0 && bit(&r, 0, 0), "opened, dirty: nothing lost");
    static struct mpsprot_log_entry all[MPSPROT_LOG_CAPACITY + 8];
    int n = mpsprot_log_drain(r.slot, all, 100);
    n += mpsprot_log_drain(r.slot, all + n, MPSPROT_LOG_CAPACITY + 8 - n);
    CHECK(n == MPSPROT_LOG_CAPACITY, "drained %d", n);
    int ordered = 1;
    for (int i = 0; i < n; i++)
      ordered &= all[i].after == (uint64_t)i
                 && all[i].address == (uint64_t)(uintptr_t)(r.base + 4 * (i % 1024));
    CHECK(ordered, "oldest first, every entry");
    CHECK(mpsprot_log_drain(r.slot, all, 8) == 0, "empty after draining");
  }
  CHECK(mpsprot_log_drain(-1, e, 8) == 0, "no log for a bad slot");
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
}

/* ---- The program's main, after its watchdog ---- */

/* Sets `page`, runs every check in order, and reports: main's return value. */
static int ff_main(void) {
  page = (long)mpsprot_page_size();
  CHECK(mpsprot_setup() == 0, "setup");
  CHECK(mpsprot_handler_installed() == 1, "installed");
  test_policy_args();
  test_handoff_accessors();
  test_accessors();
  test_native_mutator();
  test_insn_near_page_end();
  test_many();
  test_unprotect();
  test_spurious_race();
  test_step();
  CHECK(atomic_load(&thread_protect_failures) == 0, "protect failed on another thread");
  return check_report(FF_TEST_NAME);
}

#endif /* MPSPROT_FAULT_FIXTURE_H */
