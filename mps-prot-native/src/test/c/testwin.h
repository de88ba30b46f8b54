/* testwin.h -- helpers shared by the shim's Windows C tests (test_*_windows.c)
 *
 * Assumes mingw-w64 GCC for x86-64 and Windows 8 or later (run under Wine here).  The
 * POSIX tests' tools have Windows counterparts here: threads (CreateThread), a
 * monotonic millisecond clock, probing whether an access faults (a vectored handler
 * put first in line for the duration of one probe, which skips the probing instruction
 * by moving Rip, like the Linux tests' sigsetjmp probe), and running this program again
 * as a child with its standard error captured (the fail-fast tests; Windows has no
 * fork).  Include it in one translation unit per program: it defines global asm labels.
 */
#ifndef MPSPROT_TESTWIN_H
#define MPSPROT_TESTWIN_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Threads ---- */

typedef struct {
  HANDLE h;
} tw_thread;

static inline void tw_start(tw_thread *t, DWORD(WINAPI *fn)(void *), void *arg) {
  t->h = CreateThread(NULL, 0, fn, arg, 0, NULL);
  if (t->h == NULL) {
    fprintf(stderr, "CreateThread failed: %lu\n", (unsigned long)GetLastError());
    exit(2);
  }
}

static inline DWORD tw_join(tw_thread *t) {
  DWORD code = 0;
  WaitForSingleObject(t->h, INFINITE);
  GetExitCodeThread(t->h, &code);
  CloseHandle(t->h);
  return code;
}

/* Milliseconds from QueryPerformanceCounter (GetTickCount64 is coarse: under Wine it
 * advances in steps of about 16 ms). */
static inline int64_t tw_now_ms(void) {
  LARGE_INTEGER c, f;
  QueryPerformanceCounter(&c);
  QueryPerformanceFrequency(&f);
  return (int64_t)(c.QuadPart / f.QuadPart * 1000 + c.QuadPart % f.QuadPart * 1000 / f.QuadPart);
}

/* A hang fails the test instead of stalling check-windows (the Linux tests' alarm()). */
static DWORD WINAPI tw_watchdog_main(void *arg) {
  Sleep((DWORD)(uintptr_t)arg * 1000);
  fprintf(stderr, "watchdog: still running after %lu s: a hang\n", (unsigned long)(uintptr_t)arg);
  fflush(stderr);
  TerminateProcess(GetCurrentProcess(), 98);
  return 0;
}

static inline void tw_watchdog(unsigned seconds) {
  HANDLE h = CreateThread(NULL, 0, tw_watchdog_main, (void *)(uintptr_t)seconds, 0, NULL);
  if (h != NULL)
    CloseHandle(h);
}

/* The address of an exported function of mpsprot.dll itself (a plain &f in a program
 * that links the DLL gives the program's import thunk instead). */
static inline uintptr_t tw_dll_fn(const char *name) {
  HMODULE m = GetModuleHandleA("mpsprot.dll");
  return m == NULL ? 0 : (uintptr_t)(void *)GetProcAddress(m, name);
}

/* A reusable barrier for n threads (spinning with SwitchToThread). */
struct tw_barrier {
  volatile LONG count, generation;
  LONG n;
};

static inline void tw_barrier_wait(struct tw_barrier *b) {
  LONG gen = b->generation;
  if (InterlockedIncrement(&b->count) == b->n) {
    b->count = 0;
    InterlockedIncrement(&b->generation);
    return;
  }
  while (b->generation == gen)
    SwitchToThread();
}

/* ---- Probing an access ---- */

extern const char tw_probe_read_insn[], tw_probe_read_end[];
extern const char tw_probe_write_insn[], tw_probe_write_end[];

__attribute__((noinline)) static void tw_probe_read(volatile char *p) {
  __asm__ volatile(".globl tw_probe_read_insn\n"
                   "tw_probe_read_insn:\n\t"
                   "movb (%0), %%al\n"
                   ".globl tw_probe_read_end\n"
                   "tw_probe_read_end:\n\t"
                   :
                   : "c"(p)
                   : "rax", "memory");
}

__attribute__((noinline)) static void tw_probe_write(volatile char *p, char v) {
  __asm__ volatile(".globl tw_probe_write_insn\n"
                   "tw_probe_write_insn:\n\t"
                   "movb %%dl, (%0)\n"
                   ".globl tw_probe_write_end\n"
                   "tw_probe_write_end:\n\t"
                   :
                   : "c"(p), "d"(v)
                   : "memory");
}

static volatile LONG tw_probe_faults;
static volatile ULONG_PTR tw_probe_kind, tw_probe_addr;

static LONG CALLBACK tw_probe_handler(EXCEPTION_POINTERS *ep) {
  EXCEPTION_RECORD *er = ep->ExceptionRecord;
  CONTEXT *c = ep->ContextRecord;
  if (er->ExceptionCode != EXCEPTION_ACCESS_VIOLATION)
    return EXCEPTION_CONTINUE_SEARCH;
  if (c->Rip == (DWORD64)(uintptr_t)tw_probe_read_insn)
    c->Rip = (DWORD64)(uintptr_t)tw_probe_read_end;
  else if (c->Rip == (DWORD64)(uintptr_t)tw_probe_write_insn)
    c->Rip = (DWORD64)(uintptr_t)tw_probe_write_end;
  else
    return EXCEPTION_CONTINUE_SEARCH;
  tw_probe_faults++;
  tw_probe_kind = er->ExceptionInformation[0];
  tw_probe_addr = er->ExceptionInformation[1];
  return EXCEPTION_CONTINUE_EXECUTION;
}

/* 1 if a read (write == 0) or a write of *p raises an access violation.  The write
 * stores `v` (pass the byte's current value, read through an alias, to leave the memory
 * as it is).  The probe's handler is first in line while it runs, so it sees the fault
 * before the module's. */
static inline int tw_faults(volatile char *p, int write, char v) {
  void *h = AddVectoredExceptionHandler(1, tw_probe_handler);
  LONG before = tw_probe_faults;
  if (write)
    tw_probe_write(p, v);
  else
    tw_probe_read(p);
  RemoveVectoredExceptionHandler(h);
  return tw_probe_faults != before;
}

/* The protection VirtualQuery reports at addr ("rw", "r-", "--", or "??" for anything
 * else, execute permissions included). */
static inline const char *tw_perms(const void *addr) {
  MEMORY_BASIC_INFORMATION mbi;
  if (VirtualQuery(addr, &mbi, sizeof mbi) != sizeof mbi)
    return "??";
  switch (mbi.Protect) {
  case PAGE_READWRITE:
    return "rw";
  case PAGE_READONLY:
    return "r-";
  case PAGE_NOACCESS:
    return "--";
  default:
    return "??";
  }
}

/* ---- Running this program again as a child ---- */

struct tw_outcome {
  DWORD exit_code;
  char err[4096];
};

/* Runs "<this program> <arg>" with its stderr captured, waits at most timeout_ms. */
static inline void tw_run_child(const char *arg, struct tw_outcome *o, DWORD timeout_ms) {
  char self[MAX_PATH], cmd[MAX_PATH + 64];
  GetModuleFileNameA(NULL, self, sizeof self);
  snprintf(cmd, sizeof cmd, "\"%s\" %s", self, arg);
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE rd, wr;
  o->exit_code = 0xffffffffu;
  o->err[0] = '\0';
  if (!CreatePipe(&rd, &wr, &sa, 0)) {
    fprintf(stderr, "CreatePipe failed\n");
    exit(2);
  }
  SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
  STARTUPINFOA si;
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
  si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
  si.hStdError = wr;
  PROCESS_INFORMATION pi;
  fflush(stdout);
  fflush(stderr);
  if (!CreateProcessA(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
    fprintf(stderr, "CreateProcess failed: %lu\n", (unsigned long)GetLastError());
    exit(2);
  }
  CloseHandle(wr);
  DWORD n = 0, got;
  while (n < sizeof o->err - 1
         && ReadFile(rd, o->err + n, (DWORD)(sizeof o->err - 1 - n), &got, NULL) && got > 0)
    n += got;
  o->err[n] = '\0';
  CloseHandle(rd);
  if (WaitForSingleObject(pi.hProcess, timeout_ms) != WAIT_OBJECT_0)
    TerminateProcess(pi.hProcess, 0xdead);
  GetExitCodeProcess(pi.hProcess, &o->exit_code);
  CloseHandle(pi.hThread);
  CloseHandle(pi.hProcess);
}

#endif /* MPSPROT_TESTWIN_H */
