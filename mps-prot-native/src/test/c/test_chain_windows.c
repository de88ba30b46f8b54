/* test_chain_windows.c -- the vectored exception handler (protsg_windows.c): it is
 * first in line, it takes only access violations inside regions, and everything else
 * reaches the next handler unchanged: the same exception record (code, kind, address)
 * and the thread's own CONTEXT (a later handler can move Rip); guard-page violations
 * and software exceptions too; execute faults inside a region are not the module's; an
 * access violation nobody handles reaches the unhandled-exception filter and ends the
 * process with STATUS_ACCESS_VIOLATION.  mpsprot_uninstall removes the handler;
 * concurrent setups install it once.  (The Windows counterpart of test_chain.c.) */
#include "check.h"
#include "mpsprot.h"
#include "testwin.h"

#include <errno.h>

static long page;

/* A 6-byte store whose address we know: movl $0x12345678,(%rcx). */
extern const char chain_insn[], chain_end[];
__attribute__((noinline)) static void asm_store(volatile uint32_t *p) {
  __asm__ volatile(".globl chain_insn\n"
                   "chain_insn:\n\t"
                   "movl $0x12345678, (%%rcx)\n"
                   ".globl chain_end\n"
                   "chain_end:\n\t"
                   :
                   : "c"(p)
                   : "memory");
}

/* ---- The next handler in line: records what it saw, and acts ---- */

static volatile LONG next_calls;
static volatile DWORD next_code;
static volatile ULONG_PTR next_kind, next_addr;
static volatile DWORD next_nparams;
static volatile DWORD64 next_rip;
static volatile int next_mode; /* 0: skip the store, 1: make own_page writable,
                                * 2: return from the called function (execute fault),
                                * 3: continue (guard page, software exception) */
static char *volatile own_page;

static LONG CALLBACK next_handler(EXCEPTION_POINTERS *ep) {
  EXCEPTION_RECORD *er = ep->ExceptionRecord;
  CONTEXT *c = ep->ContextRecord;
  next_calls++;
  next_code = er->ExceptionCode;
  next_nparams = er->NumberParameters;
  next_kind = er->NumberParameters > 0 ? er->ExceptionInformation[0] : 99;
  next_addr = er->NumberParameters > 1 ? er->ExceptionInformation[1] : 0;
  next_rip = c->Rip;
  if (next_calls > 3) { /* never loop: the test fails on the count instead */
    DWORD old;
    VirtualProtect(own_page, page, PAGE_READWRITE, &old);
    return EXCEPTION_CONTINUE_EXECUTION;
  }
  switch (next_mode) {
  case 0:
    if (er->ExceptionCode != EXCEPTION_ACCESS_VIOLATION || c->Rip != (DWORD64)(uintptr_t)chain_insn)
      return EXCEPTION_CONTINUE_SEARCH;
    c->Rip = (DWORD64)(uintptr_t)chain_end; /* skip the store */
    return EXCEPTION_CONTINUE_EXECUTION;
  case 1: {
    if (er->ExceptionCode != EXCEPTION_ACCESS_VIOLATION)
      return EXCEPTION_CONTINUE_SEARCH;
    DWORD old;
    VirtualProtect(own_page, page, PAGE_READWRITE, &old);
    return EXCEPTION_CONTINUE_EXECUTION;
  }
  case 2:
    if (er->ExceptionCode != EXCEPTION_ACCESS_VIOLATION)
      return EXCEPTION_CONTINUE_SEARCH;
    c->Rip = *(DWORD64 *)(uintptr_t)c->Rsp; /* return to the caller */
    c->Rsp += 8;
    return EXCEPTION_CONTINUE_EXECUTION;
  default:
    return EXCEPTION_CONTINUE_EXECUTION;
  }
}

/* ---- Faults that are not the module's ---- */

static void test_not_ours(void) {
  void *next = AddVectoredExceptionHandler(1, next_handler); /* first, before setup */
  CHECK(mpsprot_setup() == 0, "setup");
  CHECK(mpsprot_handler_installed(), "installed");
  int64_t out[4];
  CHECK(mpsprot_region_create(2 * page, out) == 0, "a live region elsewhere");
  int slot = (int)out[0];
  char *rbase = (char *)(uintptr_t)out[1];
  CHECK(mpsprot_region_set_policy(slot, MPSPROT_POLICY_UNPROTECT, 0) == 0, "policy");
  int64_t chained = mpsprot_counter(MPSPROT_COUNT_CHAINED);

  /* A write fault outside every region: the next handler gets the record and the
   * CONTEXT, and its change of Rip sticks. */
  own_page = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY);
  next_calls = 0;
  next_mode = 0;
  asm_store((volatile uint32_t *)(own_page + 8));
  CHECK(next_calls == 1, "the next handler ran once: %ld", (long)next_calls);
  CHECK(next_code == EXCEPTION_ACCESS_VIOLATION && next_nparams >= 2 && next_kind == 1,
        "code %lx params %lu kind %lu", (unsigned long)next_code, (unsigned long)next_nparams,
        (unsigned long)next_kind);
  CHECK(next_addr == (ULONG_PTR)(uintptr_t)(own_page + 8), "same address");
  CHECK(next_rip == (DWORD64)(uintptr_t)chain_insn, "the CONTEXT's Rip is the faulting store");
  CHECK(*(uint32_t *)(own_page + 8) == 0, "skipped: the Rip change took effect");
  CHECK(mpsprot_counter(MPSPROT_COUNT_CHAINED) - chained == 1, "CHAINED counted");

  /* A read fault on a no-access page: kind 0, passed on; the handler opens the page. */
  DWORD old;
  VirtualProtect(own_page, page, PAGE_NOACCESS, &old);
  next_calls = 0;
  next_mode = 1;
  (void)*(volatile char *)(own_page + 100);
  CHECK(next_calls == 1 && next_kind == 0 && next_addr == (ULONG_PTR)(uintptr_t)(own_page + 100),
        "read fault passed on: calls %ld kind %lu", (long)next_calls, (unsigned long)next_kind);

  /* The next handler opens the page: the store retries. */
  VirtualProtect(own_page, page, PAGE_READONLY, &old);
  next_calls = 0;
  asm_store((volatile uint32_t *)(own_page + 8));
  CHECK(next_calls == 1 && *(uint32_t *)(own_page + 8) == 0x12345678, "retried after open");

  /* A fault inside an accessor, outside every region: not the module's. */
  VirtualProtect(own_page, page, PAGE_READONLY, &old);
  next_calls = 0;
  mpsprot_put_u32((int64_t)(uintptr_t)(own_page + 16), 7);
  CHECK(next_calls == 1 && next_addr == (ULONG_PTR)(uintptr_t)(own_page + 16)
            && *(uint32_t *)(own_page + 16) == 7,
        "accessor fault outside regions passed on");

  /* A region fault: the module resolves it first and the next handler never sees it,
   * although the next handler was installed first in line before the module. */
  int32_t rf;
  CHECK(mpsprot_protect(slot, 0, page, MPSPROT_ACCESS_WRITE, &rf) == 0, "protect");
  next_calls = 0;
  int64_t unprot = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  asm_store((volatile uint32_t *)(rbase + 4));
  CHECK(next_calls == 0, "the module's handler is first in line: next saw %ld",
        (long)next_calls);
  CHECK(*(uint32_t *)(rbase + 4) == 0x12345678, "the store happened");
  CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - unprot == 1, "resolved by UNPROTECT");

  /* A jump into a region page: an execute fault (kind 8), never the module's even with a
   * policy set (the module never grants execute). */
  *(volatile char *)(rbase + page) = (char)0xc3; /* ret: would run if executable */
  next_calls = 0;
  next_mode = 2;
  ((void (*)(void))(void *)(rbase + page))();
  CHECK(next_calls == 1 && next_code == EXCEPTION_ACCESS_VIOLATION && next_kind == 8
            && next_addr == (ULONG_PTR)(uintptr_t)(rbase + page),
        "execute fault passed on: calls %ld kind %lu", (long)next_calls, (unsigned long)next_kind);
  CHECK(mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - unprot == 1, "not resolved");

  /* Not access violations: a guard page and a software exception. */
  char *guard = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
  next_calls = 0;
  next_mode = 3;
  *(volatile char *)guard = 1;
  CHECK(next_calls == 1 && next_code == STATUS_GUARD_PAGE_VIOLATION && guard[0] == 1,
        "guard page violation passed on: calls %ld code %lx", (long)next_calls,
        (unsigned long)next_code);
  next_calls = 0;
  ULONG_PTR args[2] = {1, 2};
  RaiseException(0xE0000042u, 0, 2, args);
  CHECK(next_calls == 1 && next_code == 0xE0000042u && next_kind == 1 && next_addr == 2,
        "software exception passed on unchanged");
  int64_t chained_now = mpsprot_counter(MPSPROT_COUNT_CHAINED) - chained;
  CHECK(chained_now == 5, "CHAINED counts the access violations passed on: %ld",
        (long)chained_now);

  /* Uninstall: refused while a region lives; then the handler is gone. */
  CHECK(mpsprot_uninstall() == EBUSY, "EBUSY with a live region");
  CHECK(mpsprot_handler_installed(), "still installed");
  CHECK(mpsprot_region_destroy(slot) == 0, "destroy");
  CHECK(mpsprot_uninstall() == 0, "uninstall");
  CHECK(!mpsprot_handler_installed(), "not installed");
  chained = mpsprot_counter(MPSPROT_COUNT_CHAINED);
  VirtualProtect(own_page, page, PAGE_READONLY, &old);
  next_calls = 0;
  next_mode = 0;
  asm_store((volatile uint32_t *)(own_page + 24));
  CHECK(next_calls == 1 && mpsprot_counter(MPSPROT_COUNT_CHAINED) == chained,
        "after uninstall the module sees nothing");
  CHECK(mpsprot_uninstall() == 0, "uninstall twice is harmless");
  RemoveVectoredExceptionHandler(next);
  VirtualFree(own_page, 0, MEM_RELEASE);
  VirtualFree(guard, 0, MEM_RELEASE);
}

/* ---- Concurrent setup: one handler ---- */

static DWORD WINAPI setup_thread(void *arg) {
  (void)arg;
  return (DWORD)mpsprot_setup();
}

static void test_concurrent_setup(void) {
  tw_thread t[8];
  for (int i = 0; i < 8; i++)
    tw_start(&t[i], setup_thread, NULL);
  int bad = 0;
  for (int i = 0; i < 8; i++)
    bad += tw_join(&t[i]) != 0;
  CHECK(bad == 0 && mpsprot_handler_installed(), "8 concurrent setups");
  void *next = AddVectoredExceptionHandler(0, next_handler); /* last in line */
  own_page = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY);
  int64_t chained = mpsprot_counter(MPSPROT_COUNT_CHAINED);
  next_calls = 0;
  next_mode = 0;
  asm_store((volatile uint32_t *)own_page);
  CHECK(next_calls == 1 && mpsprot_counter(MPSPROT_COUNT_CHAINED) - chained == 1,
        "one handler, not eight: chained %ld",
        (long)(mpsprot_counter(MPSPROT_COUNT_CHAINED) - chained));
  CHECK(mpsprot_uninstall() == 0, "uninstall");
  RemoveVectoredExceptionHandler(next);
  VirtualFree(own_page, 0, MEM_RELEASE);
}

/* ---- A fault nobody handles (child process) ---- */

static LONG WINAPI last_filter(EXCEPTION_POINTERS *ep) {
  fprintf(stderr, "unhandled %lx at %p\n", (unsigned long)ep->ExceptionRecord->ExceptionCode,
          (void *)ep->ExceptionRecord->ExceptionInformation[1]);
  fflush(stderr);
  return EXCEPTION_EXECUTE_HANDLER; /* end the process with the exception code */
}

static int child_unhandled(void) {
  SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
  SetUnhandledExceptionFilter(last_filter);
  if (mpsprot_setup() != 0)
    return 10;
  int64_t out[4];
  if (mpsprot_region_create(page, out) != 0)
    return 11;
  char *p = VirtualAlloc(NULL, page, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY);
  fprintf(stderr, "address %p\n", (void *)(p + 12));
  fflush(stderr);
  mpsprot_put_u32((int64_t)(uintptr_t)(p + 12), 1);
  return 12; /* survived */
}

static void test_unhandled(void) {
  struct tw_outcome o;
  tw_run_child("unhandled", &o, 60000);
  CHECK(o.exit_code == (DWORD)EXCEPTION_ACCESS_VIOLATION,
        "the process ends with STATUS_ACCESS_VIOLATION: exit code %lx, stderr: %s",
        (unsigned long)o.exit_code, o.err);
  const char *a = strstr(o.err, "address ");
  const char *u = strstr(o.err, "unhandled c0000005 at ");
  void *pa = NULL, *pu = NULL;
  CHECK(a != NULL && u != NULL && sscanf(a + 8, "%p", &pa) == 1 && sscanf(u + 22, "%p", &pu) == 1
            && pa == pu && pa != NULL,
        "the unhandled filter saw the original address: %s", o.err);
}

int main(int argc, char **argv) {
  page = (long)mpsprot_page_size();
  if (argc > 1 && strcmp(argv[1], "unhandled") == 0)
    return child_unhandled();
  test_unhandled(); /* first: the child must see no handler of ours but its own setup */
  test_not_ours();
  test_concurrent_setup();
  return check_report("test_chain_windows");
}
