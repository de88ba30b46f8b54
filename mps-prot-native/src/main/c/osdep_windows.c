/* osdep_windows.c -- the OS seam (osdep.h) for Windows x86-64
 *
 * Assumes Windows 8 or later (WaitOnAddress, from the API set
 * api-ms-win-core-synch-l1-2-0, linked through mingw-w64's libsynchronization), built
 * with mingw-w64 GCC; tested under Wine 8 (docs/design/os.md .os.windows).
 *
 * Thread-local words: mingw-w64 GCC implements __thread as emulated TLS, whose first
 * touch on a thread calls malloc; the fault handler may not allocate, so the words live
 * in TlsAlloc slots instead.  The slots are allocated once, by a constructor when the
 * DLL (or a test program linking the objects) is loaded, and again tried by
 * osdep_init (mpsprot_setup) if that failed.  TlsGetValue and TlsSetValue of a slot
 * below 64 read and write the thread's TEB directly; a slot from 64 on lives in an
 * expansion block that TlsSetValue allocates on a thread's first store (a process that
 * already holds 64 TLS slots when the DLL loads).  See .os.windows.tls.
 *
 * The wait: WaitOnAddress / WakeByAddressSingle / WakeByAddressAll.  The waiter's wait
 * block lives on its own stack; nothing is allocated and no loader or heap lock is
 * taken, so a thread may park inside the vectored exception handler (the handoff) while
 * another thread, which never needs anything the parked thread holds, resolves it.
 * WaitOnAddress may return spuriously, like a futex: every caller looks again.
 *
 * The accessors' bounds: GNU ld sorts the grouped sections .text$<suffix> by suffix
 * into .text (its default PE script: *(SORT(.text$*))), so the marker functions in
 * .text$mpsprot_0 and .text$mpsprot_2 enclose every accessor in .text$mpsprot_1.
 *
 * Fail fast: the message goes to the standard error handle with WriteFile, then
 * TerminateProcess ends the process with exit code OSDEP_FAIL_FAST_EXIT (3, the C
 * runtime's abort() code).  abort() itself is not used: the C runtime's prints a
 * second message and may run SIGABRT handlers inside the exception handler.
 */
#include "osdep.h"

#include <errno.h>

DWORD osdep_tls_index[OSDEP_TLS_N] = {TLS_OUT_OF_INDEXES, TLS_OUT_OF_INDEXES,
                                      TLS_OUT_OF_INDEXES, TLS_OUT_OF_INDEXES,
                                      TLS_OUT_OF_INDEXES};
_Static_assert(OSDEP_TLS_N == 5, "initialise every TLS index above");

static SRWLOCK init_lock = SRWLOCK_INIT;
static _Atomic int64_t qpc_frequency;

int osdep_init(void) {
  int err = 0;
  AcquireSRWLockExclusive(&init_lock);
  for (int i = 0; i < OSDEP_TLS_N; i++) {
    if (osdep_tls_index[i] == TLS_OUT_OF_INDEXES) {
      DWORD k = TlsAlloc();
      if (k == TLS_OUT_OF_INDEXES)
        err = EAGAIN; /* the process has no TLS slot left */
      osdep_tls_index[i] = k;
    }
  }
  if (atomic_load(&qpc_frequency) == 0) {
    LARGE_INTEGER f;
    QueryPerformanceFrequency(&f); /* never fails on Windows XP and later */
    atomic_store(&qpc_frequency, f.QuadPart > 0 ? f.QuadPart : 1);
  }
  ReleaseSRWLockExclusive(&init_lock);
  return err;
}

__attribute__((constructor)) static void osdep_load(void) { (void)osdep_init(); }

int32_t osdep_thread_id(void) { return (int32_t)GetCurrentThreadId(); }

int64_t osdep_now_ns(void) {
  LARGE_INTEGER c;
  QueryPerformanceCounter(&c);
  int64_t f = atomic_load_explicit(&qpc_frequency, memory_order_relaxed);
  if (f <= 0)
    f = 1; /* not initialised: cannot happen after the constructor */
  /* Split to avoid overflowing c * 1e9 (10 MHz counters overflow after 15 minutes). */
  int64_t s = c.QuadPart / f, rest = c.QuadPart % f;
  return s * 1000000000 + rest * 1000000000 / f;
}

void osdep_yield(void) {
  if (!SwitchToThread())
    Sleep(0);
}

void osdep_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns) {
  DWORD e = GetLastError();
  DWORD ms = INFINITE;
  if (timeout_ns >= 0) {
    int64_t m = (timeout_ns + 999999) / 1000000; /* round up: never wake before it */
    ms = m >= (int64_t)INFINITE ? INFINITE - 1 : (DWORD)m;
  }
  WaitOnAddress((volatile void *)word, &expected, sizeof expected, ms);
  SetLastError(e);
}

void osdep_wake_one(_Atomic uint32_t *word) { WakeByAddressSingle((void *)word); }

void osdep_wake_all(_Atomic uint32_t *word) { WakeByAddressAll((void *)word); }

/* The accessors' markers (see the header comment). */
__attribute__((section(".text$mpsprot_0"), noinline, used)) void osdep_access_begin(void) {
  __asm__ volatile("");
}
__attribute__((section(".text$mpsprot_2"), noinline, used)) void osdep_access_end(void) {
  __asm__ volatile("");
}

void osdep_write_stderr(const char *buf, size_t n) {
  HANDLE h = GetStdHandle(STD_ERROR_HANDLE);
  if (h == NULL || h == INVALID_HANDLE_VALUE)
    return;
  size_t done = 0;
  while (done < n) {
    DWORD w = 0;
    DWORD chunk = n - done > 65536 ? 65536 : (DWORD)(n - done);
    if (!WriteFile(h, buf + done, chunk, &w, NULL) || w == 0)
      break;
    done += w;
  }
}

_Noreturn void osdep_fail_fast(void) {
  TerminateProcess(GetCurrentProcess(), OSDEP_FAIL_FAST_EXIT);
  for (;;) /* TerminateProcess on the current process does not return */
    Sleep(INFINITE);
}

/* GetLastError codes to errno values (.os.windows.errors).  Codes without a sensible
 * errno become EIO; the raw code stays available through mpsprot_win_last_error. */
int osdep_errno_of(DWORD err) {
  osdep_tls_set(OSDEP_TLS_OS_ERROR, (uintptr_t)err);
  switch (err) {
  case ERROR_SUCCESS:
    return 0;
  case ERROR_NOT_ENOUGH_MEMORY:  /* 8 */
  case ERROR_OUTOFMEMORY:        /* 14 */
  case ERROR_COMMITMENT_LIMIT:   /* 1455: the pagefile cannot back the commit */
  case ERROR_NO_SYSTEM_RESOURCES: /* 1450 */
    return ENOMEM;
  case ERROR_INVALID_PARAMETER:  /* 87 */
  case ERROR_INVALID_ADDRESS:    /* 487 */
  case ERROR_INVALID_HANDLE:     /* 6 */
    return EINVAL;
  case ERROR_ACCESS_DENIED:      /* 5 */
    return EACCES;
  case ERROR_NOACCESS:           /* 998: invalid access to a memory location */
    return EFAULT;
  case ERROR_NOT_SUPPORTED:      /* 50 */
  case ERROR_CALL_NOT_IMPLEMENTED: /* 120 */
    return ENOSYS;
  case ERROR_ALREADY_EXISTS:     /* 183 */
    return EEXIST;
  case ERROR_BUSY:               /* 170 */
    return EBUSY;
  default:
    return EIO;
  }
}
