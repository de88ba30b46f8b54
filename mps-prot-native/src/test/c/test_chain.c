/* test_chain.c -- faults that are not the module's reach the previous action unchanged:
 * an SA_SIGINFO handler gets the same siginfo and the kernel's own ucontext (it can move
 * the pc), a plain handler gets the signal, SIG_DFL kills the process the default way;
 * SIGBUS too.  mpsprot_uninstall puts the previous action back; setup is idempotent
 * and thread-safe.
 *
 * Runs on x86-64 and on aarch64 (natively or under qemu-user): the store with a known
 * address and the pc in the ucontext have one variant per architecture. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* REG_* of ucontext_t, dladdr */
#endif
#include "check.h"
#include "mpsprot.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static long page;

extern const char chain_insn[], chain_end[];
#if defined(__x86_64__)
/* A 6-byte store whose address we know: movl $0x12345678,(%rdi). */
__attribute__((noinline, noipa)) static void asm_store(volatile uint32_t *p) {
  __asm__ volatile(".globl chain_insn\n"
                   "chain_insn:\n\t"
                   "movl $0x12345678, (%%rdi)\n"
                   ".globl chain_end\n"
                   "chain_end:\n\t"
                   :
                   : "D"(p)
                   : "memory");
}
#define UC_PC(uc) ((uc)->uc_mcontext.gregs[REG_RIP])
#define UC_SET_PC(uc, v) ((uc)->uc_mcontext.gregs[REG_RIP] = (greg_t)(v))
#elif defined(__aarch64__)
/* The same on aarch64: w9 = 0x12345678, then a 4-byte store whose address we know. */
__attribute__((noinline, noipa)) static void asm_store(volatile uint32_t *p) {
  __asm__ volatile("movz w9, #0x5678\n\t"
                   "movk w9, #0x1234, lsl #16\n"
                   ".globl chain_insn\n"
                   "chain_insn:\n\t"
                   "str w9, [%0]\n"
                   ".globl chain_end\n"
                   "chain_end:\n\t"
                   :
                   : "r"(p)
                   : "x9", "memory");
}
#define UC_PC(uc) ((uc)->uc_mcontext.pc)
#define UC_SET_PC(uc, v) ((uc)->uc_mcontext.pc = (v))
#else
#error "test_chain: x86-64 or aarch64 only"
#endif

/* ---- The previous SA_SIGINFO handler ---- */

static volatile sig_atomic_t info_calls, info_sig, info_code, info_mask_ok;
static void *volatile info_addr;
static volatile uintptr_t info_rip;
static volatile int info_mode; /* 0: skip the instruction, 1: make the page writable */
static char *volatile own_page;
static volatile int bus_fd = -1;

static void prev_info(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  info_calls++;
  info_sig = sig;
  info_code = si->si_code;
  info_addr = si->si_addr;
  info_rip = (uintptr_t)UC_PC(uc);
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  info_mask_ok = sigismember(&now, SIGUSR1) == 1; /* our sa_mask is applied */
  if (info_calls > 3) { /* never loop: the test fails on the count instead */
    mprotect(own_page, page, PROT_READ | PROT_WRITE);
    return;
  }
  if (sig == SIGBUS) {
    if (ftruncate(bus_fd, page) != 0)
      _exit(99);
  } else if (info_mode == 0 && info_rip == (uintptr_t)chain_insn) {
    UC_SET_PC(uc, (uintptr_t)chain_end); /* skip the store */
  } else {
    mprotect(own_page, page, PROT_READ | PROT_WRITE);
  }
}

/* ---- The previous plain handler ---- */

static volatile sig_atomic_t plain_calls, plain_sig;
static void prev_plain(int sig) {
  plain_calls++;
  plain_sig = sig;
  mprotect(own_page, page, PROT_READ | PROT_WRITE);
}

static int same_action(int sig, void *fn, int siginfo) {
  struct sigaction now;
  sigaction(sig, NULL, &now);
  if (siginfo)
    return (now.sa_flags & SA_SIGINFO) && (void *)now.sa_sigaction == fn;
  return !(now.sa_flags & SA_SIGINFO) && (void *)now.sa_handler == fn;
}

/* ---- Children that must die the default way ---- */

enum { CHILD_DFL_FAULT, CHILD_IGN_FAULT, CHILD_IGN_SENT, CHILD_DFL_SENT, CHILD_DFL_ACCESSOR,
       CHILD_DFL_EXEC };

static void child(int what) {
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none); /* no core files from the deliberate crashes */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = (what == CHILD_IGN_FAULT || what == CHILD_IGN_SENT) ? SIG_IGN : SIG_DFL;
  sigaction(SIGSEGV, &sa, NULL);
  if (mpsprot_setup() != 0)
    _exit(10);
  int64_t out[4];
  if (mpsprot_region_create(page, out) != 0) /* a live region elsewhere */
    _exit(11);
  char *p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  switch (what) {
  case CHILD_DFL_FAULT:
  case CHILD_IGN_FAULT:
    asm_store((volatile uint32_t *)p);
    break;
  case CHILD_DFL_ACCESSOR:
    mpsprot_put_u32((int64_t)(uintptr_t)p, 1);
    break;
  case CHILD_IGN_SENT:
  case CHILD_DFL_SENT:
    kill(getpid(), SIGSEGV);
    break;
  case CHILD_DFL_EXEC: {
    /* A jump into a region page: an instruction fetch, not a data access the module
     * resolves (the module never grants execute), so it is chained. */
    mpsprot_region_set_policy((int)out[0], MPSPROT_POLICY_UNPROTECT, 0);
    void (*f)(void) = (void (*)(void))(uintptr_t)out[1];
    f();
    break;
  }
  }
  _exit(mpsprot_counter(MPSPROT_COUNT_CHAINED) == 1 ? 0 : 12); /* survived */
}

static int run_child(int what) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0)
    child(what);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

static void test_default_actions(void) {
  int st = run_child(CHILD_DFL_FAULT);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "SIG_DFL: killed by SIGSEGV (status %x)",
        st);
  st = run_child(CHILD_DFL_ACCESSOR);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
        "SIG_DFL, accessor outside regions: killed by SIGSEGV (status %x)", st);
  st = run_child(CHILD_DFL_EXEC);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
        "SIG_DFL, a jump into a region: killed by SIGSEGV (status %x)", st);
  st = run_child(CHILD_IGN_FAULT);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
        "SIG_IGN cannot ignore a fault: killed by SIGSEGV (status %x)", st);
  st = run_child(CHILD_DFL_SENT);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "sent SIGSEGV, SIG_DFL: killed (%x)", st);
  st = run_child(CHILD_IGN_SENT);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sent SIGSEGV, SIG_IGN: ignored (%x)", st);
}

static void test_siginfo_previous(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = prev_info;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR1);
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  CHECK(mpsprot_setup() == 0, "setup");
  CHECK(mpsprot_handler_installed(), "installed");
  CHECK(!same_action(SIGSEGV, (void *)prev_info, 1), "ours replaced it");
  int64_t out[4];
  CHECK(mpsprot_region_create(2 * page, out) == 0, "a live region elsewhere");
  int slot = (int)out[0];
  int64_t chained = mpsprot_counter(MPSPROT_COUNT_CHAINED);

  /* The previous handler moves the pc past the store: only the kernel's ucontext can
   * make that stick. */
  own_page = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  info_calls = 0;
  info_mode = 0;
  asm_store((volatile uint32_t *)(own_page + 8));
  CHECK(info_calls == 1, "the previous handler ran once: %d", (int)info_calls);
  CHECK(info_sig == SIGSEGV && info_code == SEGV_ACCERR, "sig %d code %d", (int)info_sig,
        (int)info_code);
  CHECK(info_addr == own_page + 8, "same si_addr %p, want %p", info_addr,
        (void *)(own_page + 8));
  CHECK(info_rip == (uintptr_t)chain_insn, "the ucontext's pc is the faulting store");
  CHECK(*(uint32_t *)(own_page + 8) == 0, "skipped: the pc change took effect");
  CHECK(info_mask_ok, "the previous action's sa_mask was applied");
  CHECK(mpsprot_counter(MPSPROT_COUNT_CHAINED) - chained == 1, "CHAINED counted");

  /* The previous handler opens the page: the store retries. */
  info_calls = 0;
  info_mode = 1;
  mprotect(own_page, page, PROT_NONE);
  asm_store((volatile uint32_t *)(own_page + 8));
  CHECK(info_calls == 1 && *(uint32_t *)(own_page + 8) == 0x12345678, "retried after open");

  /* A fault inside an accessor, outside every region: not the module's. */
  info_calls = 0;
  mprotect(own_page, page, PROT_READ);
  mpsprot_put_u32((int64_t)(uintptr_t)(own_page + 16), 7);
  CHECK(info_calls == 1 && info_addr == own_page + 16 && *(uint32_t *)(own_page + 16) == 7,
        "accessor fault outside regions chained");

  /* SIGBUS: a page of a memfd beyond its size. */
  bus_fd = memfd_create("bus", 0);
  char *b = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, bus_fd, 0);
  info_calls = 0;
  b[5] = 1;
  CHECK(info_calls == 1 && info_sig == SIGBUS && info_addr == b + 5 && b[5] == 1,
        "SIGBUS chained: calls %d sig %d", (int)info_calls, (int)info_sig);
  munmap(b, page);
  close(bus_fd);
  CHECK(mpsprot_counter(MPSPROT_COUNT_CHAINED) - chained == 4, "CHAINED %ld",
        (long)(mpsprot_counter(MPSPROT_COUNT_CHAINED) - chained));

  /* Uninstall: refused while a region lives; then the previous actions are back. */
  CHECK(mpsprot_uninstall() == EBUSY, "EBUSY with a live region");
  CHECK(mpsprot_handler_installed(), "still installed");
  CHECK(mpsprot_region_destroy(slot) == 0, "destroy");
  CHECK(mpsprot_uninstall() == 0, "uninstall");
  CHECK(!mpsprot_handler_installed(), "not installed");
  CHECK(same_action(SIGSEGV, (void *)prev_info, 1) && same_action(SIGBUS, (void *)prev_info, 1),
        "the previous actions are back");
  CHECK(mpsprot_uninstall() == 0, "uninstall twice is harmless");
  munmap(own_page, page);
}

static void test_plain_previous(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = prev_plain;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);
  CHECK(mpsprot_setup() == 0, "setup again after uninstall");
  int64_t chained = mpsprot_counter(MPSPROT_COUNT_CHAINED);
  own_page = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  asm_store((volatile uint32_t *)own_page);
  CHECK(plain_calls == 1 && plain_sig == SIGSEGV, "the plain handler ran: %d",
        (int)plain_calls);
  CHECK(*(uint32_t *)own_page == 0x12345678, "and the store retried");
  CHECK(mpsprot_counter(MPSPROT_COUNT_CHAINED) - chained == 1, "CHAINED counted");
  CHECK(mpsprot_uninstall() == 0, "uninstall");
  CHECK(same_action(SIGSEGV, (void *)prev_plain, 0), "the plain handler is back");
  munmap(own_page, page);
}

/* A handler installed over ours: uninstall must not remove it. */
static void test_uninstall_under_another(void) {
  CHECK(mpsprot_setup() == 0, "setup");
  struct sigaction sa, ours;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = prev_plain;
  sigaction(SIGSEGV, &sa, &ours);
  CHECK(mpsprot_uninstall() == EBUSY, "EBUSY: another handler stands over ours");
  CHECK(same_action(SIGSEGV, (void *)prev_plain, 0), "left in place");
  sigaction(SIGSEGV, &ours, NULL);
  CHECK(mpsprot_uninstall() == 0, "uninstall once ours is back on top");
}

/* Concurrent setup: one installation; the previous action recorded is not ours. */
static void *setup_thread(void *arg) {
  (void)arg;
  return (void *)(intptr_t)mpsprot_setup();
}

static void test_concurrent_setup(void) {
  pthread_t t[8];
  for (int i = 0; i < 8; i++)
    pthread_create(&t[i], NULL, setup_thread, NULL);
  int bad = 0;
  for (int i = 0; i < 8; i++) {
    void *r;
    pthread_join(t[i], &r);
    bad += r != NULL;
  }
  CHECK(bad == 0 && mpsprot_handler_installed(), "8 concurrent setups");
  CHECK(mpsprot_setup() == 0, "and one more");
  CHECK(mpsprot_uninstall() == 0, "uninstall");
  CHECK(same_action(SIGSEGV, (void *)prev_plain, 0), "the action before all of them is back");
}

int main(void) {
  alarm(20);
  page = (long)mpsprot_page_size();
  test_default_actions(); /* first: this process still has SIG_DFL */
  test_siginfo_previous();
  test_plain_previous();
  test_uninstall_under_another();
  test_concurrent_setup();
  return check_report("test_chain");
}
