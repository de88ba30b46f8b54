/* test_chain.c -- faults that are not the module's reach the previous action unchanged:
 * an SA_SIGINFO handler gets the same siginfo and the kernel's own ucontext (it can move
 * the pc), a plain handler gets the signal, SIG_DFL kills the process the default way;
 * SIGBUS too.  The previous action's flags are emulated (fault.md .handler.flags):
 * SA_RESETHAND (called once, then the default death, never a fault loop; uninstall then
 * restores SIG_DFL), SA_NODEFER (a fault inside it is delivered) and the mask it runs
 * with.  Nested faults (.handler.nest): inside a previous handler, inside a signal
 * handler that interrupts a HANDOFF park, and signal handlers that write the page the
 * module's handler is stepping.  Those run in forked children bounded by a timeout, so
 * that a loop or a hang is a failure.  mpsprot_uninstall puts the previous action back
 * (EBUSY with a live region, EEXIST under another handler); setup is idempotent and
 * thread-safe.
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
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
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

/* A handler installed over ours: uninstall must not remove it, and says why with a code
 * of its own (EEXIST), not the one of a live region (EBUSY). */
static void test_uninstall_under_another(void) {
  CHECK(mpsprot_setup() == 0, "setup");
  struct sigaction sa, ours;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = prev_plain;
  sigaction(SIGSEGV, &sa, &ours);
  int err = mpsprot_uninstall();
  CHECK(err == EEXIST, "EEXIST: another handler stands over ours (got %d)", err);
  int64_t out[4];
  CHECK(mpsprot_region_create(page, out) == 0, "a live region");
  CHECK(mpsprot_uninstall() == EBUSY, "EBUSY while a region is live comes first");
  CHECK(mpsprot_region_destroy((int)out[0]) == 0, "destroy");
  CHECK(same_action(SIGSEGV, (void *)prev_plain, 0), "left in place");
  sigaction(SIGSEGV, &ours, NULL);
  CHECK(mpsprot_uninstall() == 0, "uninstall once ours is back on top");
}


/* ---- Children bounded by a timeout: a loop or a hang is a failure, not a stuck test ---- */

#define CHILD_TIMEOUT_MS 20000 /* generous: qemu-user runs these too */
#define TIMED_OUT (-1)

/* Runs fn in a forked child; its wait status, or TIMED_OUT (the child is then killed). */
static int run_bounded(void (*fn)(void)) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    fn();
    _exit(0);
  }
  for (int waited = 0; waited < CHILD_TIMEOUT_MS; waited += 5) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid)
      return status;
    struct timespec t = {0, 5000000};
    nanosleep(&t, NULL);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return TIMED_OUT;
}

/* What children report to the parent: a shared anonymous page made before the fork. */
struct shared_report {
  volatile sig_atomic_t calls, stage, nested, module_ok, mask_sig, mask_usr1, mask_usr2,
      mask_term;
};
static struct shared_report *rep;

static char *mapped(int prot) {
  return mmap(NULL, page, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* A live UNPROTECT region with its first page write-protected; returns its base. */
static char *unprotect_region(int *slot) {
  int64_t out[4];
  int32_t rf;
  if (mpsprot_region_create(page, out) != 0
      || mpsprot_region_set_policy((int)out[0], MPSPROT_POLICY_UNPROTECT, 0) != 0
      || mpsprot_protect((int)out[0], 0, page, MPSPROT_ACCESS_WRITE, &rf) != 0)
    _exit(40);
  if (slot != NULL)
    *slot = (int)out[0];
  return (char *)(uintptr_t)out[1];
}

static void install_previous(void (*fn)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR1);
  sigaction(SIGSEGV, &sa, NULL);
}

/* ---- SA_RESETHAND: called once, then the default action ---- */

static void prev_resethand(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  (void)ucv;
  rep->calls++;
  if (rep->stage == 1) /* the first fault: the handler opens the page */
    mprotect((void *)((uintptr_t)si->si_addr & ~(uintptr_t)(page - 1)), page,
             PROT_READ | PROT_WRITE);
  /* otherwise it returns without resolving anything: only the default action ends it */
}

/* The previous handler resolves the first fault; a module fault is still the module's;
 * the next chained fault meets SIG_DFL and the process dies by SIGSEGV. */
static void child_resethand_dies(void) {
  install_previous(prev_resethand, SA_RESETHAND);
  if (mpsprot_setup() != 0)
    _exit(10);
  char *mod = unprotect_region(NULL);
  char *own = mapped(PROT_READ);
  rep->stage = 1;
  asm_store((volatile uint32_t *)own);
  if (rep->calls != 1 || *(uint32_t *)own != 0x12345678)
    _exit(11);
  rep->stage = 2;
  asm_store((volatile uint32_t *)mod); /* the module's fault: resolved, never chained */
  rep->module_ok = rep->calls == 1 && *(uint32_t *)mod == 0x12345678;
  rep->stage = 3;
  mprotect(own, page, PROT_READ);
  asm_store((volatile uint32_t *)own); /* SA_RESETHAND used up: SIG_DFL kills */
  _exit(12);
}

/* The previous handler never resolves the fault: one call, then the default death (the
 * kernel's SA_RESETHAND), never an endless loop of calls. */
static void child_resethand_unresolved(void) {
  install_previous(prev_resethand, SA_RESETHAND);
  if (mpsprot_setup() != 0)
    _exit(10);
  unprotect_region(NULL);
  char *own = mapped(PROT_READ);
  rep->stage = 3;
  asm_store((volatile uint32_t *)own);
  _exit(12);
}

/* After the handler with SA_RESETHAND was called, uninstall restores SIG_DFL. */
static void child_resethand_uninstall(void) {
  install_previous(prev_resethand, SA_RESETHAND);
  if (mpsprot_setup() != 0)
    _exit(10);
  char *own = mapped(PROT_READ);
  rep->stage = 1;
  asm_store((volatile uint32_t *)own);
  if (rep->calls != 1)
    _exit(11);
  if (mpsprot_uninstall() != 0)
    _exit(13);
  struct sigaction now;
  sigaction(SIGSEGV, NULL, &now);
  _exit(!(now.sa_flags & SA_SIGINFO) && now.sa_handler == SIG_DFL ? 0 : 14);
}

static void test_resethand(void) {
  rep->calls = rep->stage = rep->module_ok = 0;
  int st = run_bounded(child_resethand_dies);
  CHECK(st != TIMED_OUT, "SA_RESETHAND: the child ended (no fault loop)");
  CHECK(st != TIMED_OUT && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
        "SA_RESETHAND: the second chained fault kills by SIGSEGV (status %x, stage %d)", st,
        (int)rep->stage);
  CHECK(rep->calls == 1, "SA_RESETHAND: the previous handler was called once: %d",
        (int)rep->calls);
  CHECK(rep->module_ok, "SA_RESETHAND: the module's own faults are still handled");

  rep->calls = rep->stage = 0;
  st = run_bounded(child_resethand_unresolved);
  CHECK(st != TIMED_OUT && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
        "SA_RESETHAND, unresolved: the default death, not a loop (status %x, calls %d)", st,
        (int)rep->calls);
  CHECK(rep->calls == 1, "SA_RESETHAND, unresolved: called once: %d", (int)rep->calls);

  rep->calls = rep->stage = 0;
  st = run_bounded(child_resethand_uninstall);
  CHECK(st != TIMED_OUT && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "SA_RESETHAND: uninstall restores SIG_DFL (status %x)", st);
}

/* ---- SA_NODEFER and the mask a previous handler runs with ---- */

static char *volatile nest_page;
static char *volatile nest_module;

static void record_mask(void) {
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  rep->mask_sig = sigismember(&now, SIGSEGV);
  rep->mask_usr1 = sigismember(&now, SIGUSR1);
  rep->mask_usr2 = sigismember(&now, SIGUSR2);
  rep->mask_term = sigismember(&now, SIGTERM);
}

static void prev_nodefer(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  ucontext_t *uc = ucv;
  rep->calls++;
  if (si->si_addr == nest_page) { /* the nested fault: open its page */
    rep->nested++;
    mprotect(nest_page, page, PROT_READ | PROT_WRITE);
    return;
  }
  record_mask();
  /* A fault inside this handler: SA_NODEFER lets it be delivered (to the module's
   * handler, which chains it here again). */
  *(volatile uint32_t *)nest_page = 5;
  /* And a fault on a module page: the module resolves it inside this handler. */
  asm_store((volatile uint32_t *)nest_module);
  rep->module_ok = *(uint32_t *)nest_module == 0x12345678;
  if ((uintptr_t)UC_PC(uc) == (uintptr_t)chain_insn)
    UC_SET_PC(uc, (uintptr_t)chain_end);
}

static void child_nodefer(void) {
  install_previous(prev_nodefer, SA_NODEFER);
  if (mpsprot_setup() != 0)
    _exit(10);
  nest_module = unprotect_region(NULL);
  nest_page = mapped(PROT_NONE);
  char *own = mapped(PROT_READ);
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  sigprocmask(SIG_BLOCK, &usr2, NULL); /* the thread's own mask when it faults */
  asm_store((volatile uint32_t *)own);
  sigset_t after;
  sigprocmask(SIG_BLOCK, NULL, &after);
  if (sigismember(&after, SIGUSR1) || !sigismember(&after, SIGUSR2))
    _exit(15); /* the thread's mask is back as it was */
  _exit(rep->calls == 2 && rep->nested == 1 && *(uint32_t *)own == 0 ? 0 : 16);
}

static void prev_deferred(int sig, siginfo_t *si, void *ucv) {
  (void)sig;
  (void)si;
  ucontext_t *uc = ucv;
  rep->calls++;
  record_mask();
  if ((uintptr_t)UC_PC(uc) == (uintptr_t)chain_insn)
    UC_SET_PC(uc, (uintptr_t)chain_end);
}

static void child_deferred(void) {
  install_previous(prev_deferred, 0);
  if (mpsprot_setup() != 0)
    _exit(10);
  unprotect_region(NULL);
  char *own = mapped(PROT_READ);
  asm_store((volatile uint32_t *)own);
  _exit(rep->calls == 1 ? 0 : 16);
}

static void test_nodefer(void) {
  rep->calls = rep->nested = rep->module_ok = 0;
  rep->mask_sig = rep->mask_usr1 = rep->mask_usr2 = rep->mask_term = -1;
  int st = run_bounded(child_nodefer);
  CHECK(st != TIMED_OUT && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "SA_NODEFER: a fault inside the previous handler is delivered, not fatal (status %x, "
        "calls %d, nested %d)",
        st, (int)rep->calls, (int)rep->nested);
  CHECK(rep->module_ok, "SA_NODEFER: a module fault inside the previous handler is resolved");
  CHECK(rep->mask_sig == 0, "SA_NODEFER: SIGSEGV is not blocked in the previous handler");
  CHECK(rep->mask_usr1 == 1, "its sa_mask (SIGUSR1) is blocked");
  CHECK(rep->mask_usr2 == 1, "the thread's own mask (SIGUSR2) is kept");
  CHECK(rep->mask_term == 0, "other signals stay open, as the kernel would leave them");

  rep->calls = 0;
  rep->mask_sig = rep->mask_usr1 = rep->mask_usr2 = rep->mask_term = -1;
  st = run_bounded(child_deferred);
  CHECK(st != TIMED_OUT && WIFEXITED(st) && WEXITSTATUS(st) == 0, "without SA_NODEFER (%x)",
        st);
  CHECK(rep->mask_sig == 1 && rep->mask_usr1 == 1 && rep->mask_term == 0,
        "without SA_NODEFER: SIGSEGV and the sa_mask blocked, the rest open (%d %d %d)",
        (int)rep->mask_sig, (int)rep->mask_usr1, (int)rep->mask_term);
}

/* ---- A module fault inside a signal handler that interrupts a HANDOFF park ---- */

static char *volatile park_base;   /* HANDOFF region: page 0 parks the mutator */
static char *volatile usr1_module; /* UNPROTECT region, write-protected */
static volatile sig_atomic_t usr1_done;

static void usr1_touches(int sig) {
  (void)sig;
  /* Runs on the parked mutator, inside the module's handler frame. */
  *(volatile uint32_t *)usr1_module = 0x1111;                 /* resolved in the handler */
  mpsprot_put_u32((int64_t)(uintptr_t)(park_base + page), 0x2222); /* parks again, nested */
  usr1_done = 1;
}

static void *park_mutator(void *arg) {
  (void)arg;
  mpsprot_native_mutator_begin();
  mpsprot_put_u32((int64_t)(uintptr_t)park_base, 0x3333); /* parks */
  mpsprot_native_mutator_end();
  return NULL;
}

static void child_park_nested(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = usr1_touches;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  if (mpsprot_setup() != 0)
    _exit(10);
  usr1_module = unprotect_region(NULL);
  int64_t out[4];
  int32_t rf;
  if (mpsprot_region_create(2 * page, out) != 0)
    _exit(20);
  int slot = (int)out[0];
  park_base = (char *)(uintptr_t)out[1];
  if (mpsprot_region_set_policy(slot, MPSPROT_POLICY_HANDOFF, MPSPROT_FALLBACK_FAIL_FAST) != 0
      || mpsprot_protect(slot, 0, 2 * page, MPSPROT_ACCESS_WRITE, &rf) != 0)
    _exit(21);
  pthread_t t;
  pthread_create(&t, NULL, park_mutator, NULL);
  int first = mpsprot_handoff_wait(10000);
  if (first < 0)
    _exit(22);
  pthread_kill(t, SIGUSR1); /* its handler runs while the mutator is parked */
  int second = mpsprot_handoff_wait(10000);
  if (second < 0)
    _exit(23); /* the nested fault never arrived */
  const struct mpsprot_context *c =
      (const struct mpsprot_context *)(uintptr_t)mpsprot_handoff_context(second);
  if (c == NULL || c->address != (uint64_t)(uintptr_t)(park_base + page))
    _exit(24);
  mpsprot_protect(slot, page, page, 0, &rf);
  mpsprot_handoff_resolve(second, MPSPROT_RESOLVE_RESUME);
  for (int i = 0; i < 10000 && !usr1_done; i++) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  if (!usr1_done)
    _exit(25);
  mpsprot_protect(slot, 0, page, 0, &rf);
  mpsprot_handoff_resolve(first, MPSPROT_RESOLVE_RESUME);
  pthread_join(t, NULL);
  char *alias = (char *)(uintptr_t)out[2];
  if (*(uint32_t *)alias != 0x3333 || *(uint32_t *)(alias + page) != 0x2222
      || *(uint32_t *)usr1_module != 0x1111)
    _exit(26);
  _exit(0);
}

static void test_nested_in_park(void) {
  int st = run_bounded(child_park_nested);
  CHECK(st != TIMED_OUT && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "a signal handler interrupting a HANDOFF park takes module faults (status %x)", st);
}

/* ---- Signals sent at a thread while the module's handler resolves its faults, and the
 * signal handler writes the same page: never a death, never a wait for the interrupted
 * frame.  The region's policy is STEP: every store faults and is emulated while the
 * handler holds the page's BUSY bit, with the page still protected (the widest window).
 * Another thread drains the log and re-protects the page should a full log have opened
 * it. (A signal handler that interrupts a thread holding BUSY outside the fault path,
 * in mpsprot_protect, is not this test's subject.) ---- */

static char *volatile storm_page;
static _Atomic int storm_stop;
static _Atomic long storm_signals;

static void usr1_storm(int sig) {
  (void)sig;
  asm_store((volatile uint32_t *)(storm_page + 64)); /* faults on the same page */
  atomic_fetch_add(&storm_signals, 1);
}

static void *storm_faulter(void *arg) {
  (void)arg;
  while (!atomic_load(&storm_stop))
    asm_store((volatile uint32_t *)storm_page); /* faults: the handler steps it */
  return NULL;
}

static void *storm_protector(void *arg) {
  int slot = (int)(intptr_t)arg;
  int32_t rf;
  struct mpsprot_log_entry log[256];
  while (!atomic_load(&storm_stop)) {
    while (mpsprot_log_drain(slot, log, 256) > 0)
      ;
    mpsprot_protect(slot, 0, page, MPSPROT_ACCESS_WRITE, &rf);
  }
  return NULL;
}

static void child_storm(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = usr1_storm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  if (mpsprot_setup() != 0)
    _exit(10);
  int slot;
  storm_page = unprotect_region(&slot);
  mpsprot_region_set_policy(slot, MPSPROT_POLICY_STEP, 0);
  int64_t before = mpsprot_counter(MPSPROT_COUNT_STEPPED);
  pthread_t f, p;
  pthread_create(&f, NULL, storm_faulter, NULL);
  pthread_create(&p, NULL, storm_protector, (void *)(intptr_t)slot);
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    pthread_kill(f, SIGUSR1);
    struct timespec t = {0, 20000};
    nanosleep(&t, NULL);
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < 1000);
  atomic_store(&storm_stop, 1);
  pthread_join(f, NULL);
  pthread_join(p, NULL);
  long stepped = (long)(mpsprot_counter(MPSPROT_COUNT_STEPPED) - before);
  printf("test_chain: signal storm: %ld signal handlers ran, %ld faults stepped\n",
         atomic_load(&storm_signals), stepped);
  fflush(stdout);
  _exit(atomic_load(&storm_signals) > 0 && stepped > 0 ? 0 : 30);
}

static void test_signal_storm(void) {
  int st = run_bounded(child_storm);
  CHECK(st != TIMED_OUT && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "signal handlers that fault on the page the module's handler is stepping (status %x)", st);
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
  alarm(120);
  page = (long)mpsprot_page_size();
  rep = mmap(NULL, sizeof *rep, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  test_default_actions(); /* first: this process still has SIG_DFL */
  test_resethand();
  test_nodefer();
  test_nested_in_park();
  test_signal_storm();
  test_siginfo_previous();
  test_plain_previous();
  test_uninstall_under_another();
  test_concurrent_setup();
  return check_report("test_chain");
}
