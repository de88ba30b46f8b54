/* test_fault_darwin.c -- the shim on macOS (x86-64 and arm64), in one program: the page
 * size, regions and ProtSet (checked with mach_vm_region and with real accesses), the
 * SIGSEGV/SIGBUS handler with its policies (UNPROTECT with the dirty and touched bits,
 * STEP with the log, HANDOFF through the accessors with the captured context), chaining
 * of faults that are not the module's to the previous SA_SIGINFO handler with the
 * kernel's own ucontext, uninstall, and one fail-fast in a child.
 *
 * NOT VERIFIED HERE: written for Apple clang and never compiled on the project's
 * machines; the macOS workflow (.github/workflows/macos.yml) runs it on macos-14 (arm64)
 * and macos-13 (x86-64).
 */
#include "check.h"
#include "mpsprot.h"
#include "probe_posix.h" /* faults, expected_perms */

#include <dlfcn.h>
#include <errno.h>
#include <mach/mach.h>
#include <mach/mach_vm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ucontext.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__arm64__) || defined(__aarch64__)
#define ARM64 1
#else
#define ARM64 0
#endif

static long page;

/* ---- Helpers ---- */

static const char *symbol_at(uint64_t pc) {
  Dl_info info;
  if (dladdr((void *)(uintptr_t)pc, &info) == 0 || info.dli_sname == NULL)
    return "?";
  return info.dli_sname;
}

static int32_t tid32(void) {
  uint64_t t = 0;
  pthread_threadid_np(NULL, &t);
  return (int32_t)t;
}

/* The protection Mach reports at addr: "rw", "r-", "--", or "??". */
static const char *vm_perms(const void *addr) {
  mach_vm_address_t a = (mach_vm_address_t)(uintptr_t)addr;
  mach_vm_size_t size = 0;
  vm_region_basic_info_data_64_t info;
  mach_msg_type_number_t count = VM_REGION_BASIC_INFO_COUNT_64;
  mach_port_t object = MACH_PORT_NULL;
  if (mach_vm_region(mach_task_self(), &a, &size, VM_REGION_BASIC_INFO_64,
                     (vm_region_info_t)&info, &count, &object) != KERN_SUCCESS
      || a > (mach_vm_address_t)(uintptr_t)addr)
    return "??";
  if (info.protection & VM_PROT_EXECUTE)
    return "??";
  if ((info.protection & (VM_PROT_READ | VM_PROT_WRITE)) == (VM_PROT_READ | VM_PROT_WRITE))
    return "rw";
  if (info.protection & VM_PROT_READ)
    return "r-";
  return info.protection == VM_PROT_NONE ? "--" : "??";
}

struct region {
  int slot;
  char *base, *alias;
};

static struct region make_region(int pages, int policy) {
  int64_t out[4];
  struct region r = {-1, NULL, NULL};
  int err = mpsprot_region_create(pages * page, out);
  CHECK(err == 0, "create: %s (stage %d)", strerror(err), (int)out[3]);
  if (err != 0)
    exit(check_report("test_fault_darwin"));
  r.slot = (int)out[0];
  r.base = (char *)(uintptr_t)out[1];
  r.alias = (char *)(uintptr_t)out[2];
  CHECK(mpsprot_region_set_policy(r.slot, policy, MPSPROT_FALLBACK_FAIL_FAST) == 0, "policy");
  return r;
}

static void protect(struct region *r, int first, int n, int mode) {
  int32_t rf;
  int err = mpsprot_protect(r->slot, first * page, n * page, mode, &rf);
  CHECK(err == 0, "protect: %s", strerror(err));
}

static int record(struct region *r, int p) {
  return ((unsigned char *)(uintptr_t)mpsprot_region_record(r->slot))[p];
}

static int bit(struct region *r, int which, int p) {
  uint64_t *b = (uint64_t *)(uintptr_t)mpsprot_region_bitmap(r->slot, which);
  return (int)((b[p / 64] >> (p % 64)) & 1);
}

/* A store whose address we know, and a plain store the decoders step. */
extern const char chain_insn[] __asm("_chain_insn");
extern const char chain_end[] __asm("_chain_end");

__attribute__((noinline)) static void asm_store(volatile uint32_t *p) {
#if ARM64
  __asm__ volatile("mov w9, #0x5678\n\t"
                   "movk w9, #0x1234, lsl #16\n"
                   ".globl _chain_insn\n"
                   "_chain_insn:\n\t"
                   "str w9, [%0]\n"
                   ".globl _chain_end\n"
                   "_chain_end:\n\t"
                   :
                   : "r"(p)
                   : "x9", "memory");
#else
  __asm__ volatile(".globl _chain_insn\n"
                   "_chain_insn:\n\t"
                   "movl $0x12345678, (%0)\n"
                   ".globl _chain_end\n"
                   "_chain_end:\n\t"
                   :
                   : "D"(p)
                   : "memory");
#endif
}

__attribute__((noinline)) static void plain_store(volatile uint32_t *p, uint32_t v) {
#if ARM64
  __asm__ volatile("str %w1, [%0]" : : "r"(p), "r"(v) : "memory");
#else
  __asm__ volatile("movl %1, (%0)" : : "D"(p), "S"(v) : "memory");
#endif
}

/* ---- Regions and ProtSet ---- */

static void test_regions(void) {
  int64_t out[4];
  CHECK(mpsprot_region_create(page + 1, out) == EINVAL, "unaligned size");
  struct region r = make_region(4, MPSPROT_POLICY_NONE);
  CHECK(mpsprot_region_find((int64_t)(uintptr_t)r.base) == r.slot, "find base");
  CHECK(mpsprot_region_find((int64_t)(uintptr_t)(r.base + 4 * page)) == -1, "limit exclusive");
  CHECK(mpsprot_region_find((int64_t)(uintptr_t)r.alias) == -1, "the alias is not the mutator's");
  r.alias[page + 5] = 42;
  CHECK(r.base[page + 5] == 42, "one memory, two views");
  for (int mode = 0; mode <= MPSPROT_ACCESS_ALL; mode++) {
    protect(&r, 1, 2, mode);
    CHECK(strcmp(vm_perms(r.base + page), expected_perms(mode)) == 0,
          "mode %d: mach_vm_region says %s", mode, vm_perms(r.base + page));
    CHECK(strcmp(vm_perms(r.base), "rw") == 0, "page below untouched");
    CHECK(strcmp(vm_perms(r.base + 3 * page), "rw") == 0, "limit exclusive");
    CHECK(faults(r.base + page, 0) == ((mode & MPSPROT_ACCESS_READ) != 0), "read, mode %d",
          mode);
    CHECK(faults(r.base + 2 * page, 1) == (mode != 0), "write, mode %d", mode);
    CHECK(!faults(r.alias + page, 1), "alias stays writable");
    CHECK(record(&r, 1) == mode && record(&r, 3) == 0, "record");
  }
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
  CHECK(mpsprot_region_count() == 0, "count after destroy");
}

/* ---- UNPROTECT and STEP ---- */

static void test_unprotect_and_step(void) {
  struct region r = make_region(4, MPSPROT_POLICY_UNPROTECT);
  int64_t unprot = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  int64_t chained = mpsprot_counter(MPSPROT_COUNT_CHAINED);
  protect(&r, 0, 1, MPSPROT_ACCESS_WRITE);
  protect(&r, 1, 1, MPSPROT_ACCESS_READ);
  *(volatile uint64_t *)(r.base + 16) = 5;
  CHECK(record(&r, 0) == 0 && bit(&r, 0, 0) && !bit(&r, 1, 0), "write fault: open, dirty");
  CHECK(strcmp(vm_perms(r.base), "rw") == 0, "the OS agrees");
  uint64_t v = *(volatile uint64_t *)(r.base + page);
  CHECK(v == 0 && record(&r, 1) == 0 && bit(&r, 1, 1) && !bit(&r, 0, 1), "read fault: touched");
  CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - unprot == 2, "UNPROTECTED %lld",
        (long long)(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - unprot));
  CHECK(mpsprot_counter(MPSPROT_COUNT_CHAINED) == chained, "nothing chained");
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");

  r = make_region(2, MPSPROT_POLICY_STEP);
  int64_t st = mpsprot_counter(MPSPROT_COUNT_STEPPED);
  protect(&r, 0, 1, MPSPROT_ACCESS_WRITE);
  plain_store((volatile uint32_t *)(r.base + 64), 4242);
  CHECK(*(uint32_t *)(r.base + 64) == 4242, "the store is visible");
  CHECK(mpsprot_counter(MPSPROT_COUNT_STEPPED) - st == 1, "STEPPED");
  CHECK(record(&r, 0) == MPSPROT_ACCESS_WRITE, "the protection stays");
  struct mpsprot_log_entry e[4];
  int n = mpsprot_log_drain(r.slot, e, 4);
  CHECK(n == 1 && e[0].address == (uint64_t)(uintptr_t)(r.base + 64) && e[0].after == 4242
            && e[0].access == MPSPROT_ACCESS_WRITE && e[0].size == 4,
        "log entry: n %d", n);
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
}

/* ---- HANDOFF through an accessor: the context ---- */

struct resolver {
  pthread_t thread;
  struct region *r;
  int ticket;
  struct mpsprot_context seen;
};

static void *resolver_main(void *arg) {
  struct resolver *s = arg;
  s->ticket = mpsprot_handoff_wait(5000);
  if (s->ticket < 0)
    return NULL;
  struct mpsprot_context *c = (struct mpsprot_context *)(uintptr_t)mpsprot_handoff_context(s->ticket);
  if (c != NULL) {
    s->seen = *c;
    int32_t rf;
    int p = (int)((c->address - (uint64_t)(uintptr_t)s->r->base) / (uint64_t)page);
    mpsprot_protect(s->r->slot, p * page, page, 0, &rf);
  }
  mpsprot_handoff_resolve(s->ticket, MPSPROT_RESOLVE_RESUME);
  return NULL;
}

static void test_handoff(void) {
  struct region r = make_region(3, MPSPROT_POLICY_HANDOFF);
  char *addr = r.base + page + 12;
  protect(&r, 1, 1, MPSPROT_ACCESS_WRITE);
  struct resolver s;
  memset(&s, 0, sizeof s);
  s.r = &r;
  s.ticket = -1;
  pthread_create(&s.thread, NULL, resolver_main, &s);
  mpsprot_put_u32((int64_t)(uintptr_t)addr, 0xdeadbeefu);
  pthread_join(s.thread, NULL);
  struct mpsprot_context *c = &s.seen;
  CHECK(s.ticket >= 0, "the resolver got a ticket");
  CHECK(*(uint32_t *)addr == 0xdeadbeefu, "the store happened after the resume");
  CHECK(c->address == (uint64_t)(uintptr_t)addr, "exact address");
  CHECK(c->access == MPSPROT_ACCESS_WRITE, "access %d", c->access);
  CHECK(strcmp(symbol_at(c->pc), "mpsprot_put_u32") == 0, "pc in %s", symbol_at(c->pc));
  CHECK(c->flags & MPSPROT_CTX_NATIVE, "native flag (accessor)");
  CHECK(c->tid == tid32(), "tid %d, want %d", c->tid, tid32());
  CHECK(c->slot == r.slot, "slot");
#if ARM64
  CHECK(c->arch == MPSPROT_ARCH_AARCH64, "arch %d", c->arch);
  CHECK(c->flags & MPSPROT_CTX_ESR, "the kind came from ESR");
  CHECK(c->regs[0] == (uint64_t)(uintptr_t)addr && (uint32_t)c->regs[1] == 0xdeadbeefu,
        "x0 holds the address, w1 the value");
  CHECK(c->regs[31] == c->sp && c->sp % 16 == 0, "sp");
  CHECK(c->insn_len == 4, "insn_len %d", c->insn_len);
#else
  CHECK(c->arch == MPSPROT_ARCH_X86_64, "arch %d", c->arch);
  CHECK(c->regs[7] == (uint64_t)(uintptr_t)addr && (uint32_t)c->regs[6] == 0xdeadbeefu,
        "rdi holds the address, esi the value");
  CHECK(c->regs[16] & 2, "rflags bit 1");
  CHECK(c->insn_len == 16, "insn_len %d", c->insn_len);
#endif
  CHECK(memcmp(c->insn, (void *)(uintptr_t)c->pc, (size_t)c->insn_len) == 0, "insn bytes");

  /* A read fault on a no-access page. */
  protect(&r, 2, 1, MPSPROT_ACCESS_READ);
  *(uint64_t *)(r.alias + 2 * page + 8) = 0x0123456789abcdefull;
  memset(&s, 0, sizeof s);
  s.r = &r;
  s.ticket = -1;
  pthread_create(&s.thread, NULL, resolver_main, &s);
  uint64_t v = mpsprot_get_u64((int64_t)(uintptr_t)(r.base + 2 * page + 8));
  pthread_join(s.thread, NULL);
  CHECK(v == 0x0123456789abcdefull, "read after the resume");
  CHECK(c->access == MPSPROT_ACCESS_READ && strcmp(symbol_at(c->pc), "mpsprot_get_u64") == 0,
        "read access %d in %s", c->access, symbol_at(c->pc));
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
}

/* ---- Chaining ---- */

static volatile sig_atomic_t prev_calls, prev_sig;
static void *volatile prev_addr;
static volatile uint64_t prev_pc;

static void prev_handler(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  prev_calls++;
  prev_sig = sig;
  prev_addr = si->si_addr;
#if ARM64
  prev_pc = uc->uc_mcontext->__ss.__pc;
  if (prev_pc == (uint64_t)(uintptr_t)chain_insn)
    uc->uc_mcontext->__ss.__pc = (uint64_t)(uintptr_t)chain_end;
#else
  prev_pc = uc->uc_mcontext->__ss.__rip;
  if (prev_pc == (uint64_t)(uintptr_t)chain_insn)
    uc->uc_mcontext->__ss.__rip = (uint64_t)(uintptr_t)chain_end;
#endif
  if (prev_calls > 3)
    _exit(97); /* never loop */
}

static void test_chain(void) {
  CHECK(mpsprot_uninstall() == 0, "uninstall before installing a previous handler");
  struct sigaction sa, now;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = prev_handler;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  CHECK(mpsprot_setup() == 0, "setup");
  struct region r = make_region(1, MPSPROT_POLICY_UNPROTECT); /* a live region elsewhere */
  int64_t chained = mpsprot_counter(MPSPROT_COUNT_CHAINED);
  char *own = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANON, -1, 0);
  prev_calls = 0;
  asm_store((volatile uint32_t *)(own + 8));
  CHECK(prev_calls == 1, "the previous handler ran once: %d", (int)prev_calls);
  CHECK(prev_sig == SIGSEGV || prev_sig == SIGBUS, "signal %d", (int)prev_sig);
  CHECK(prev_addr == own + 8, "same si_addr");
  CHECK(prev_pc == (uint64_t)(uintptr_t)chain_insn, "the ucontext's pc is the faulting store");
  CHECK(*(uint32_t *)(own + 8) == 0, "skipped: the pc change took effect");
  CHECK(mpsprot_counter(MPSPROT_COUNT_CHAINED) - chained == 1, "CHAINED counted");
  printf("test_fault_darwin: note: a write to a read-only private page raised signal %d\n",
         (int)prev_sig);
  CHECK(mpsprot_uninstall() == EBUSY, "EBUSY with a live region");
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
  CHECK(mpsprot_uninstall() == 0, "uninstall");
  sigaction(SIGSEGV, NULL, &now);
  CHECK((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == prev_handler, "SIGSEGV restored");
  sigaction(SIGBUS, NULL, &now);
  CHECK((now.sa_flags & SA_SIGINFO) && now.sa_sigaction == prev_handler, "SIGBUS restored");
  munmap(own, page);
}

/* ---- One fail-fast, in a child ---- */

static void test_failfast(void) {
  int fds[2];
  if (pipe(fds) != 0)
    return;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 2);
    alarm(10);
    if (mpsprot_setup() != 0)
      _exit(20);
    struct region r = make_region(1, MPSPROT_POLICY_HANDOFF);
    protect(&r, 0, 1, MPSPROT_ACCESS_WRITE);
    *(volatile uint32_t *)(r.base + 0x123) = 1; /* not native */
    _exit(0);
  }
  close(fds[1]);
  char err[4096];
  size_t n = 0;
  ssize_t got;
  while (n < sizeof err - 1 && (got = read(fds[0], err + n, sizeof err - 1 - n)) > 0)
    n += (size_t)got;
  err[n] = '\0';
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "the child dies by SIGABRT: %x, %s",
        status, err);
  CHECK(strstr(err, "write fault") != NULL && strstr(err, ".rule.native") != NULL,
        "the message names the rule: %s", err);
}

int main(void) {
  alarm(60);
  page = (long)mpsprot_page_size();
  CHECK(page == sysconf(_SC_PAGESIZE) && page >= 4096 && (page & (page - 1)) == 0,
        "page size %ld", page);
#if ARM64
  CHECK(page == 16384, "16 KiB pages on Apple silicon: %ld", page);
#endif
  CHECK(mpsprot_setup() == 0 && mpsprot_setup() == 0, "setup is idempotent");
  CHECK(mpsprot_handler_installed() == 1, "installed");
  mpsprot_mutator_enter();
  CHECK(mpsprot_mutator_depth() == 1, "mutator depth (a pthread key)");
  mpsprot_mutator_leave();
  test_regions();
  test_unprotect_and_step();
  test_handoff();
  test_chain();
  test_failfast();
  int64_t d;
  CHECK(mpsprot_probe_uffd_wp_async(&d) == ENOSYS, "no userfaultfd on macOS");
  return check_report("test_fault_darwin");
}
