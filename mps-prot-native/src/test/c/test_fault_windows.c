/* test_fault_windows.c -- the fault path inside regions on Windows (the counterpart of
 * test_fault.c): the context the vectored handler captures from the CONTEXT record
 * (checked by a second thread through the handoff), HANDOFF with several mutators and
 * barrier threads parked with WaitOnAddress inside the exception handler, UNPROTECT with
 * its dirty and touched bits, spurious faults, STEP and its fallback, the access log,
 * registers written back into the CONTEXT, the instruction bytes at a page end. */
#include "check.h"
#include "mpsprot.h"
#include "testwin.h"

#include <errno.h>
#include <stdatomic.h>

static long page;

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
    exit(check_report("test_fault_windows"));
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

/* 1 if pc lies in the first `len` bytes of the DLL's function `name`. */
static int pc_in(uint64_t pc, const char *name, uint64_t len) {
  uintptr_t f = tw_dll_fn(name);
  return f != 0 && pc >= f && pc < f + len;
}

/* ---- A resolver thread: takes one ticket, copies the context, runs an action ---- */

struct resolver {
  tw_thread thread;
  struct region *r;
  int unprotect_page; /* >= 0: mpsprot_protect(page, EMPTY) before resolving */
  int step;           /* 1: mpsprot_context_step instead of unprotecting */
  void (*custom)(struct mpsprot_context *ctx, struct resolver *self);
  int ticket, step_err, parked_n;
  int64_t parked[6];
  struct mpsprot_context seen;
};

static DWORD WINAPI resolver_main(void *arg) {
  struct resolver *s = arg;
  s->ticket = mpsprot_handoff_wait(5000);
  if (s->ticket < 0)
    return 0;
  struct mpsprot_context *ctx =
      (struct mpsprot_context *)(uintptr_t)mpsprot_handoff_context(s->ticket);
  if (ctx == NULL)
    return 0;
  s->parked_n = mpsprot_handoff_parked(s->parked, 2);
  s->seen = *ctx;
  if (s->custom != NULL)
    s->custom(ctx, s);
  else if (s->step)
    s->step_err = mpsprot_context_step((int64_t)(uintptr_t)ctx);
  else if (s->unprotect_page >= 0)
    protect_mt(s->r, s->unprotect_page, 1, 0);
  mpsprot_handoff_resolve(s->ticket, MPSPROT_RESOLVE_RESUME);
  return 0;
}

static void resolver_start(struct resolver *s, struct region *r, int unprotect_page) {
  memset(&s->seen, 0, sizeof s->seen);
  s->r = r;
  s->unprotect_page = unprotect_page;
  s->ticket = -1;
  s->parked_n = -1;
  tw_start(&s->thread, resolver_main, s);
}

/* The context of an accessor's write and read fault, resolved by a second thread. */
static void test_handoff_accessors(void) {
  struct region r = make_region(4, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST);
  int64_t handoffs = mpsprot_counter(MPSPROT_COUNT_HANDOFFS);
  int64_t writes = mpsprot_counter(MPSPROT_COUNT_FAULTS_WRITE);
  char *addr = r.base + page + 12;

  protect(&r, 1, 1, MPSPROT_ACCESS_WRITE);
  struct resolver s = {0};
  resolver_start(&s, &r, 1);
  SetLastError(4321);
  mpsprot_put_u32((int64_t)(uintptr_t)addr, 0xdeadbeefu);
  DWORD last = GetLastError();
  tw_join(&s.thread);
  struct mpsprot_context *c = &s.seen;
  CHECK(s.ticket >= 0, "the resolver got a ticket");
  CHECK(last == 4321, "the handler kept the thread's last error: %lu", (unsigned long)last);
  CHECK(*(uint32_t *)addr == 0xdeadbeefu, "the store happened after the resume: %x",
        *(uint32_t *)addr);
  CHECK(c->address == (uint64_t)(uintptr_t)addr, "exact address");
  CHECK(c->access == MPSPROT_ACCESS_WRITE, "access %d", c->access);
  CHECK(pc_in(c->pc, "mpsprot_put_u32", 16), "pc %llx in mpsprot_put_u32 (%llx)",
        (unsigned long long)c->pc, (unsigned long long)tw_dll_fn("mpsprot_put_u32"));
  CHECK(c->flags & MPSPROT_CTX_NATIVE, "native flag (accessor), flags %d", c->flags);
  CHECK(c->tid == (int32_t)GetCurrentThreadId(), "tid %d, want %lu", c->tid,
        (unsigned long)GetCurrentThreadId());
  CHECK(c->slot == r.slot, "slot %d", c->slot);
  CHECK(c->arch == MPSPROT_ARCH_X86_64, "arch %d", c->arch);
  CHECK(c->insn_len > 0 && c->insn_len <= 16, "insn_len %d", c->insn_len);
  CHECK(c->insn_len > 0 && memcmp(c->insn, (void *)(uintptr_t)c->pc, (size_t)c->insn_len) == 0,
        "insn bytes are the code at pc");
  CHECK(c->regs[1] == (uint64_t)(uintptr_t)addr, "rcx (regs[1]) holds the address: %llx",
        (unsigned long long)c->regs[1]);
  CHECK((uint32_t)c->regs[2] == 0xdeadbeefu, "edx (regs[2]) holds the value: %llx",
        (unsigned long long)c->regs[2]);
  CHECK(c->regs[4] == c->sp && c->sp != 0, "rsp (regs[4]) equals sp");
  CHECK(c->regs[16] & 2, "rflags (regs[16]) bit 1 is always set: %llx",
        (unsigned long long)c->regs[16]);
  CHECK(c->ucontext != 0, "CONTEXT pointer");
  CHECK(s.parked_n == 1 && s.parked[0] == (int64_t)GetCurrentThreadId()
            && s.parked[1] == (int64_t)(uintptr_t)addr && s.parked[2] >= 0,
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
  tw_join(&s.thread);
  CHECK(v == 0x0123456789abcdefull, "read through the accessor after resume: %llx",
        (unsigned long long)v);
  CHECK(c->address == (uint64_t)(uintptr_t)(r.base + 2 * page + 8), "read address");
  CHECK(c->access == MPSPROT_ACCESS_READ, "read access %d", c->access);
  CHECK(pc_in(c->pc, "mpsprot_get_u64", 16), "pc in mpsprot_get_u64");
  CHECK(c->flags & MPSPROT_CTX_NATIVE, "native flag");
  CHECK(mpsprot_counter(MPSPROT_COUNT_FAULTS_READ) == reads + 1, "FAULTS_READ counted");

  /* The Java collector's ProtStepInstruction on a parked accessor fault: the accessor's
   * store is mov %edx,(%rcx). */
  protect(&r, 3, 1, MPSPROT_ACCESS_WRITE);
  s.step = 1;
  resolver_start(&s, &r, -1);
  mpsprot_put_u32((int64_t)(uintptr_t)(r.base + 3 * page + 4), 77);
  tw_join(&s.thread);
  s.step = 0;
  CHECK(s.step_err == 0, "mpsprot_context_step: %d", s.step_err);
  CHECK(*(uint32_t *)(r.alias + 3 * page + 4) == 77, "the collector's step stored");
  CHECK(record(&r, 3) == MPSPROT_ACCESS_WRITE, "the page stays protected after a step");
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
}

/* The accessors' values, mpsprot_copy's overlaps, and a fault inside mpsprot_copy. */
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
            && mpsprot_get_u64(a + 17) == 0x1122334455667788ull && r.base[0] == 0,
        "accessor values");
  unsigned char want[256];
  for (int i = 0; i < 256; i++)
    r.base[100 + i] = (char)i;
  for (int i = 0; i < 256; i++)
    want[i] = (unsigned char)r.base[100 + i];
  mpsprot_copy(a + 105, a + 100, 200); /* forwards overlap: dst after src */
  CHECK(memcmp(r.base + 105, want, 200) == 0, "overlapping copy, dst above src");

  /* The copy faults on its first byte in page 1 (write-protected): parks, is resolved. */
  memset(r.base + page - 64, 0x5a, 128);
  memset(r.base + 2 * page, 0x77, 128);
  protect(&r, 1, 1, MPSPROT_ACCESS_WRITE);
  struct resolver s = {0};
  resolver_start(&s, &r, 1);
  mpsprot_copy(a + page - 64, a + 2 * page, 128);
  tw_join(&s.thread);
  CHECK(s.seen.address == (uint64_t)(uintptr_t)(r.base + page), "fault at the page start");
  CHECK(pc_in(s.seen.pc, "mpsprot_copy", 0x200) && (s.seen.flags & MPSPROT_CTX_NATIVE),
        "pc in mpsprot_copy, native");
  CHECK(memcmp(r.base + page - 64, r.base + 2 * page, 128) == 0, "the copy completed");
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
}

/* ---- A plain C store from a declared native mutator; registers in and out ---- */

extern const char fault_step_insn[], fault_step_end[];

/* Sets known values in rdx, r8, xmm2, zeroes rax and xmm1, stores to *p (6 bytes:
 * c7 01 44 33 22 11), then returns rax and xmm1 as they are after the store. */
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
static const uint8_t asm_store_insn[6] = {0xc7, 0x01, 0x44, 0x33, 0x22, 0x11};

/* A collector that "steps" the store by hand: the store through the alias, rax and
 * xmm1 changed, pc advanced. */
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
  tw_join(&s.thread);
  struct mpsprot_context *c = &s.seen;
  CHECK(*p == 0x11223344u, "the plain store happened after the resume");
  CHECK(rax == 0 && xmm1 == 0, "registers untouched by a retry");
  CHECK(c->pc == (uint64_t)(uintptr_t)fault_step_insn, "pc %llx, want %p",
        (unsigned long long)c->pc, (void *)fault_step_insn);
  CHECK(c->flags & MPSPROT_CTX_NATIVE, "native flag (declared native mutator)");
  CHECK(c->access == MPSPROT_ACCESS_WRITE && c->address == (uint64_t)(uintptr_t)p,
        "access %d address", c->access);
  CHECK(c->regs[2] == 0x5151 && c->regs[8] == 0x8888 && c->regs[0] == 0
            && c->regs[1] == (uint64_t)(uintptr_t)p,
        "rdx (regs[2]) %llx, r8 (regs[8]) %llx, rax %llx, rcx", (unsigned long long)c->regs[2],
        (unsigned long long)c->regs[8], (unsigned long long)c->regs[0]);
  uint64_t x2;
  memcpy(&x2, c->vregs[2], 8);
  CHECK(x2 == 0x5151, "xmm2 (vregs[2]) low bytes %llx", (unsigned long long)x2);
  CHECK(c->insn_len == 16 && memcmp(c->insn, asm_store_insn, sizeof asm_store_insn) == 0,
        "insn bytes (len %d)", c->insn_len);

  /* Resolved by a hand-made step: registers, xmm and Rip written back into the CONTEXT;
   * the page stays protected. */
  *p = 0;
  protect(&r, 1, 1, MPSPROT_ACCESS_WRITE);
  s.custom = hand_step;
  resolver_start(&s, &r, -1);
  mpsprot_native_mutator_begin();
  rax = asm_store(p, &xmm1);
  mpsprot_native_mutator_end();
  tw_join(&s.thread);
  s.custom = NULL;
  CHECK(rax == 0xabc, "rax written back: %llx", (unsigned long long)rax);
  CHECK(xmm1 == 0x5a5a0000a5a5ull, "xmm1 written back: %llx", (unsigned long long)xmm1);
  CHECK(*p == 0x11223344u, "the stepped store is visible");
  CHECK(record(&r, 1) == MPSPROT_ACCESS_WRITE, "still protected: record %d", record(&r, 1));
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
}

/* The instruction bytes near the end of a code page: no read into an unreadable page
 * (ReadProcessMemory reports it instead of faulting). */
static void test_insn_near_page_end(void) {
  static const uint8_t code[7] = {0xc7, 0x01, 0x44, 0x33, 0x22, 0x11, 0xc3};
  uint8_t *m = VirtualAlloc(NULL, 2 * page, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  memset(m, 0xcc, 2 * page);
  memcpy(m + page - 7, code, 7);
  DWORD old;
  if (!VirtualProtect(m, page, PAGE_EXECUTE_READ, &old)) {
    printf("test_fault_windows: note: no executable page here: insn-at-page-end skipped\n");
    VirtualFree(m, 0, MEM_RELEASE);
    return;
  }
  FlushInstructionCache(GetCurrentProcess(), m, page);
  void (*f)(volatile uint32_t *) = (void (*)(volatile uint32_t *))(void *)(m + page - 7);
  struct region r = make_region(1, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST);
  for (int readable = 0; readable <= 1; readable++) {
    VirtualProtect(m + page, page, readable ? PAGE_READONLY : PAGE_NOACCESS, &old);
    protect(&r, 0, 1, MPSPROT_ACCESS_WRITE);
    struct resolver s = {0};
    resolver_start(&s, &r, 0);
    mpsprot_native_mutator_begin();
    f((volatile uint32_t *)r.base);
    mpsprot_native_mutator_end();
    tw_join(&s.thread);
    CHECK(s.seen.pc == (uint64_t)(uintptr_t)(m + page - 7), "pc at the end of the page");
    CHECK(s.seen.insn_len == (readable ? 16 : 7), "next page %s: insn_len %d",
          readable ? "readable" : "unreadable", s.seen.insn_len);
    CHECK(memcmp(s.seen.insn, code, 7) == 0, "the bytes up to the page end");
    if (readable)
      CHECK(s.seen.insn[7] == 0xcc && s.seen.insn[15] == 0xcc, "the bytes after it");
    CHECK(*(uint32_t *)r.base == 0x11223344u, "stored after resume");
    *(uint32_t *)r.base = 0;
  }
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
  VirtualFree(m, 0, MEM_RELEASE);
}

/* ---- Many mutators, many barrier threads, more parked than slots ---- */

#define MUTATORS 70
#define ROUNDS 20

static struct region many;
static _Atomic int many_done;

static DWORD WINAPI many_mutator(void *arg) {
  int i = (int)(intptr_t)arg;
  char *p = many.base + i * page;
  for (int k = 1; k <= ROUNDS; k++) {
    protect_mt(&many, i, 1, MPSPROT_ACCESS_WRITE);
    mpsprot_put_u64((int64_t)(uintptr_t)p, (uint64_t)k);
  }
  atomic_fetch_add(&many_done, 1);
  return 0;
}

static _Atomic int barrier_resolved;

static DWORD WINAPI many_barrier(void *arg) {
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
  return 0;
}

static void test_many(void) {
  many = make_region(MUTATORS, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST);
  int64_t handoffs = mpsprot_counter(MPSPROT_COUNT_HANDOFFS);
  tw_thread m[MUTATORS], b[3];
  for (int i = 0; i < MUTATORS; i++)
    tw_start(&m[i], many_mutator, (void *)(intptr_t)i);
  /* No barrier thread yet: 64 park in slots, the rest wait for a free slot. */
  int64_t deadline = tw_now_ms() + 5000;
  int64_t parked[3 * 128];
  int n = 0;
  while (tw_now_ms() < deadline && (n = mpsprot_handoff_parked(parked, 128)) < 64)
    Sleep(1);
  CHECK(n == 64, "all 64 handoff slots hold a parked mutator: %d", n);
  int in_list = 0;
  for (int i = 0; i < n; i++)
    in_list += mpsprot_region_find(parked[3 * i + 1]) == many.slot && parked[3 * i] > 0;
  CHECK(in_list == n, "the parked list names tids and addresses in the region");
  Sleep(20);
  CHECK(mpsprot_handoff_parked(parked, 128) == 64, "the others wait for a slot");
  for (int i = 0; i < 3; i++)
    tw_start(&b[i], many_barrier, NULL);
  for (int i = 0; i < MUTATORS; i++)
    tw_join(&m[i]);
  for (int i = 0; i < 3; i++)
    tw_join(&b[i]);
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

  int64_t t0 = tw_now_ms();
  CHECK(mpsprot_handoff_wait(50) == -1, "wait times out with nothing parked");
  CHECK(tw_now_ms() - t0 >= 45, "after the timeout: %lld ms", (long long)(tw_now_ms() - t0));
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
  CHECK(strcmp(tw_perms(r.base), "rw") == 0, "VirtualQuery agrees: %s", tw_perms(r.base));
  *(volatile uint64_t *)(r.base + 24) = 6; /* no second fault */

  uint64_t v = *(volatile uint64_t *)(r.base + page); /* read on {READ}: no access */
  CHECK(v == 0 && record(&r, 1) == 0, "read fault on {READ} gives EMPTY: %d", record(&r, 1));
  CHECK(bit(&r, 1, 1) && !bit(&r, 0, 1), "touched bit, not dirty");
  *(volatile uint64_t *)(r.base + page) = 1; /* no fault: fully open */

  v = *(volatile uint64_t *)(r.base + 2 * page); /* read on {READ,WRITE} */
  CHECK(record(&r, 2) == MPSPROT_ACCESS_WRITE, "read fault on {R,W} gives {W}: %d",
        record(&r, 2));
  CHECK(strcmp(tw_perms(r.base + 2 * page), "r-") == 0, "VirtualQuery: read-only");
  CHECK(bit(&r, 1, 2) && !bit(&r, 0, 2), "touched, not dirty yet");
  *(volatile uint64_t *)(r.base + 2 * page) = 2; /* write fault now */
  CHECK(record(&r, 2) == 0 && bit(&r, 0, 2), "then the write opens it, dirty");
  mpsprot_put_u8((int64_t)(uintptr_t)(r.base + 3 * page), 1); /* open page: no fault */

  CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - unprot == 4, "UNPROTECTED %lld",
        (long long)(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - unprot));
  CHECK(mpsprot_counter(MPSPROT_COUNT_FAULTS_WRITE) - writes == 2, "write faults");
  CHECK(mpsprot_counter(MPSPROT_COUNT_FAULTS_READ) - reads == 2, "read faults");

  /* A deterministic spurious fault: the OS forbids what the record allows (changed
   * behind the module's back).  The handler retries once, then re-applies the record. */
  int64_t spurious = mpsprot_counter(MPSPROT_COUNT_SPURIOUS);
  unprot = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  DWORD old;
  VirtualProtect(r.base + 3 * page, page, PAGE_READONLY, &old);
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
static struct tw_barrier race_go = {0, 0, 3};
#define RACE_ROUNDS 300

static DWORD WINAPI race_writer(void *arg) {
  int id = (int)(intptr_t)arg;
  for (int k = 0; k < RACE_ROUNDS; k++) {
    tw_barrier_wait(&race_go);
    *(volatile uint64_t *)(race.base + (k % 8) * page + 8 * id) = (uint64_t)k + 1;
    tw_barrier_wait(&race_go);
  }
  return 0;
}

static void test_spurious_race(void) {
  race = make_region(8, MPSPROT_POLICY_UNPROTECT, MPSPROT_FALLBACK_FAIL_FAST);
  int64_t w0 = mpsprot_counter(MPSPROT_COUNT_FAULTS_WRITE);
  int64_t u0 = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  int64_t s0 = mpsprot_counter(MPSPROT_COUNT_SPURIOUS);
  tw_thread t[2];
  for (int i = 0; i < 2; i++)
    tw_start(&t[i], race_writer, (void *)(intptr_t)i);
  int lost = 0;
  for (int k = 0; k < RACE_ROUNDS; k++) {
    protect(&race, k % 8, 1, MPSPROT_ACCESS_WRITE);
    tw_barrier_wait(&race_go);
    tw_barrier_wait(&race_go);
    for (int id = 0; id < 2; id++)
      lost += *(volatile uint64_t *)(race.base + (k % 8) * page + 8 * id) != (uint64_t)k + 1;
  }
  for (int i = 0; i < 2; i++)
    tw_join(&t[i]);
  int64_t w = mpsprot_counter(MPSPROT_COUNT_FAULTS_WRITE) - w0;
  int64_t u = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - u0;
  int64_t s = mpsprot_counter(MPSPROT_COUNT_SPURIOUS) - s0;
  CHECK(lost == 0, "%d stores lost", lost);
  CHECK(u == RACE_ROUNDS, "one page opening per round: %lld", (long long)u);
  CHECK(w == u + s && w >= RACE_ROUNDS && w <= 2 * RACE_ROUNDS,
        "faults %lld = unprotected %lld + spurious %lld", (long long)w, (long long)u,
        (long long)s);
  printf("test_fault_windows: note: %lld spurious faults in %d racing rounds\n", (long long)s,
         RACE_ROUNDS);
  CHECK(mpsprot_region_destroy(race.slot) == 0, "destroy");
}

/* ---- STEP ---- */

/* lock incl (%rcx): a read-modify-write the decoders refuse (LOCK prefix). */
__attribute__((noinline)) static void locked_inc(volatile uint32_t *p) {
  __asm__ volatile("lock incl (%0)" : : "c"(p) : "memory");
}

/* mov %edx,(%rcx) */
__attribute__((noinline)) static void plain_store(volatile uint32_t *p, uint32_t v) {
  __asm__ volatile("movl %1, (%0)" : : "c"(p), "d"(v) : "memory");
}

static void test_step(void) {
  struct region r = make_region(2, MPSPROT_POLICY_STEP, MPSPROT_FALLBACK_FAIL_FAST);
  struct mpsprot_log_entry e[8];
  CHECK(mpsprot_log_drain(r.slot, e, 8) == 0, "an empty log");
  struct mpsprot_context probe = {0};
  probe.address = (uint64_t)(uintptr_t)r.base;
  probe.arch = MPSPROT_ARCH_X86_64;
  probe.access = MPSPROT_ACCESS_WRITE;
  probe.slot = r.slot;
  probe.insn[0] = 0x89; /* mov %edx,(%rcx) */
  probe.insn[1] = 0x11;
  probe.insn_len = 2;
  probe.regs[1] = probe.address;
  CHECK(mpsprot_context_can_step((int64_t)(uintptr_t)&probe), "mov %%edx,(%%rcx) steps");

  int64_t st = mpsprot_counter(MPSPROT_COUNT_STEPPED);
  int64_t un = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  protect(&r, 0, 1, MPSPROT_ACCESS_WRITE);
  plain_store((volatile uint32_t *)(r.base + 64), 4242);
  CHECK(*(uint32_t *)(r.base + 64) == 4242, "the store is visible");
  CHECK(mpsprot_counter(MPSPROT_COUNT_STEPPED) - st == 1, "STEPPED");
  CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) == un, "not unprotected");
  CHECK(record(&r, 0) == MPSPROT_ACCESS_WRITE, "the protection stays");
  CHECK(strcmp(tw_perms(r.base), "r-") == 0, "VirtualQuery: still read-only");
  CHECK(!bit(&r, 0, 0), "no dirty bit: the log holds the write");
  int n = mpsprot_log_drain(r.slot, e, 8);
  CHECK(n == 1 && e[0].address == (uint64_t)(uintptr_t)(r.base + 64) && e[0].before == 0
            && e[0].after == 4242 && e[0].access == MPSPROT_ACCESS_WRITE && e[0].size == 4,
        "log entry: n %d", n);

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
  n = mpsprot_log_drain(r.slot, all, 100);
  n += mpsprot_log_drain(r.slot, all + n, MPSPROT_LOG_CAPACITY + 8 - n);
  CHECK(n == MPSPROT_LOG_CAPACITY, "drained %d", n);
  int ordered = 1;
  for (int i = 0; i < n; i++)
    ordered &= all[i].after == (uint64_t)i
               && all[i].address == (uint64_t)(uintptr_t)(r.base + 4 * (i % 1024));
  CHECK(ordered, "oldest first, every entry");
  CHECK(mpsprot_log_drain(r.slot, all, 8) == 0, "empty after draining");
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
}

static void test_policy_args(void) {
  struct region r = make_region(1, MPSPROT_POLICY_NONE, MPSPROT_FALLBACK_FAIL_FAST);
  CHECK(mpsprot_region_set_policy(r.slot, 4, 0) == EINVAL, "bad policy");
  CHECK(mpsprot_region_set_policy(r.slot, 1, 2) == EINVAL, "bad fallback");
  CHECK(mpsprot_region_set_policy(-1, 1, 0) == EINVAL, "bad slot");
  CHECK(mpsprot_counter(-1) == -1 && mpsprot_counter(MPSPROT_COUNT_N) == -1, "bad counter");
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
  CHECK(mpsprot_region_bitmap(r.slot, 0) == 0, "no bitmap after destroy");
}

int main(void) {
  tw_watchdog(120); /* a hang fails the test instead of stalling check-windows */
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
  return check_report("test_fault_windows");
}
