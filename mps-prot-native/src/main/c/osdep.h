/* osdep.h -- the OS-dependent primitives of the generic files (prot.c, barrier.c,
 * access.c, step.c and the headers they share)
 *
 * protos.h is the seam for memory (page size, the twin mapping, protection changes);
 * this header is the seam for everything else the generic code needs from the OS, so
 * that prot.c, barrier.c, access.c and step.c compile unchanged on Linux, Windows and
 * macOS (docs/design/os.md .os.seam):
 *
 *   osdep_fault_info, osdep_fault_frame  what the fault handler hands to barrier_fault
 *             and the CPU seam (prmc.h): siginfo_t and ucontext_t on POSIX systems,
 *             EXCEPTION_RECORD and CONTEXT on Windows
 *   osdep_thread_id()   the OS thread id (Linux: gettid; Windows: GetCurrentThreadId;
 *             macOS: pthread_threadid_np, truncated to 32 bits)
 *   osdep_now_ns()      a monotonic clock in nanoseconds
 *   osdep_yield()       give the CPU to another thread
 *   osdep_wait(), osdep_wake_one(), osdep_wake_all()   wait until a 32-bit word is no
 *             longer `expected` (or a wake, or a timeout, or spuriously: callers look
 *             again), and wake such waiters.  Linux: futex; Windows: WaitOnAddress /
 *             WakeByAddress*; macOS: __ulock_wait / __ulock_wake.  Called from the
 *             fault handler (the handoff parks there), so each must be safe there.
 *   osdep_tls_get(), osdep_tls_set()   a few thread-local words, OSDEP_TLS_*, that the
 *             fault handler reads and writes: they must never allocate on first touch
 *             (Linux: initial-exec __thread; Windows: TlsAlloc'd slots, because
 *             mingw-w64's __thread is emulated TLS, which mallocs; macOS: pthread keys,
 *             because Mach-O __thread variables are allocated by dyld on first touch)
 *   OSDEP_ACCESSOR, osdep_in_accessor()   the accessors' own code section and the test
 *             "does this pc lie in it" (ELF: __start_/__stop_ symbols of the section;
 *             PE: grouped sections .text$mpsprot_0/_1/_2 that the linker sorts, with
 *             marker functions in _0 and _2; Mach-O: section$start/section$end)
 *   osdep_mutex         a statically initialised mutex for paths that never run in the
 *             fault handler (region creation and destruction, setup)
 *   osdep_write_stderr(), osdep_fail_fast()   the fail-fast path: one message, then the
 *             process ends (Linux, macOS: abort(), so SIGABRT; Windows: TerminateProcess
 *             with exit code OSDEP_FAIL_FAST_EXIT, never returning into the exception
 *             dispatcher)
 *   osdep_park_signals(), osdep_unpark_signals()   the handoff's park (barrier.c)
 *             waits with the signals open that the thread had open when it faulted,
 *             then closes them again: the fault handler blocks every asynchronous
 *             signal while it runs (docs/design/fault.md .handler.nest), so that no
 *             signal handler runs while it holds a page's BUSY bit.  POSIX: a signal
 *             mask, set from the ucontext (protsg_posix.c); Windows: nothing (a vectored
 *             handler masks nothing)
 *   osdep_init()        one-time setup (Windows: TLS slots, the clock's frequency;
 *             macOS: pthread keys); returns 0 or an errno value.  Idempotent.
 *
 * Assumes GCC or clang (attributes, C11 atomics that are lock-free for 32-bit words and
 * pointers).  Linux's definitions are inline here, so that the Linux build is the code
 * it was before this seam existed; osdep_linux.c holds the one definition that cannot
 * be inline (the TLS array), osdep_windows.c and osdep_darwin.c the others.
 */
#ifndef MPSPROT_OSDEP_H
#define MPSPROT_OSDEP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* The thread-local words (osdep_tls_get/set). */
enum osdep_tls_key {
  OSDEP_TLS_MUTATOR_DEPTH = 0, /* mpsprot_mutator_enter nesting (prot.c) */
  OSDEP_TLS_NATIVE_DEPTH,      /* mpsprot_native_mutator_begin nesting (barrier.c) */
  OSDEP_TLS_SPURIOUS_PAGE,     /* the page of the last spurious fault (barrier.c) */
  OSDEP_TLS_SPURIOUS_RUN,      /* how many in a row on that page (barrier.c) */
  OSDEP_TLS_OS_ERROR,          /* Windows: the raw GetLastError of the last failure */
  OSDEP_TLS_N
};

/* Keep cold paths (fail-fast messages) out of the handler's frame. */
#define OSDEP_COLD __attribute__((noinline, cold))

int osdep_init(void);

#if defined(_WIN32)
/* ---- Windows (osdep_windows.c) ------------------------------------------------ */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

typedef EXCEPTION_RECORD osdep_fault_info;
typedef CONTEXT osdep_fault_frame;

/* The process exit code of a fail-fast (the same as the C runtime's abort()). */
#define OSDEP_FAIL_FAST_EXIT 3

int32_t osdep_thread_id(void);
int64_t osdep_now_ns(void);
void osdep_yield(void);
void osdep_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns);
void osdep_wake_one(_Atomic uint32_t *word);
void osdep_wake_all(_Atomic uint32_t *word);

extern DWORD osdep_tls_index[OSDEP_TLS_N];

static inline uintptr_t osdep_tls_get(int key) {
  DWORD e = GetLastError(); /* TlsGetValue sets it to 0: keep the caller's */
  void *v = osdep_tls_index[key] == TLS_OUT_OF_INDEXES ? NULL : TlsGetValue(osdep_tls_index[key]);
  SetLastError(e);
  return (uintptr_t)v;
}

static inline void osdep_tls_set(int key, uintptr_t v) {
  DWORD e = GetLastError();
  if (osdep_tls_index[key] != TLS_OUT_OF_INDEXES)
    TlsSetValue(osdep_tls_index[key], (void *)v);
  SetLastError(e);
}

#define OSDEP_ACCESSOR __attribute__((section(".text$mpsprot_1"), noinline, used))
void osdep_access_begin(void); /* in .text$mpsprot_0: just before every accessor */
void osdep_access_end(void);   /* in .text$mpsprot_2: just after every accessor */

static inline int osdep_in_accessor(uint64_t pc) {
  return pc >= (uint64_t)(uintptr_t)&osdep_access_begin
         && pc < (uint64_t)(uintptr_t)&osdep_access_end;
}

typedef SRWLOCK osdep_mutex;
#define OSDEP_MUTEX_INIT SRWLOCK_INIT
static inline void osdep_mutex_lock(osdep_mutex *m) { AcquireSRWLockExclusive(m); }
static inline void osdep_mutex_unlock(osdep_mutex *m) { ReleaseSRWLockExclusive(m); }

void osdep_write_stderr(const char *buf, size_t n);
_Noreturn void osdep_fail_fast(void);

/* The errno value for a GetLastError code (the table is in osdep_windows.c and
 * docs/design/os.md .os.windows.errors); also remembers the raw code for
 * mpsprot_win_last_error. */
int osdep_errno_of(DWORD err);

typedef struct {
  int unused;
} osdep_park_mask;
static inline void osdep_park_signals(const osdep_fault_frame *uc, osdep_park_mask *saved) {
  (void)uc;
  (void)saved;
}
static inline void osdep_unpark_signals(const osdep_park_mask *saved) { (void)saved; }

#else
/* ---- POSIX: Linux and macOS --------------------------------------------------- */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <sys/ucontext.h> /* <ucontext.h> refuses without _XOPEN_SOURCE; the type suffices */
#else
#include <ucontext.h>
#endif

typedef siginfo_t osdep_fault_info;
typedef ucontext_t osdep_fault_frame;

typedef pthread_mutex_t osdep_mutex;
#define OSDEP_MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
static inline void osdep_mutex_lock(osdep_mutex *m) { pthread_mutex_lock(m); }
static inline void osdep_mutex_unlock(osdep_mutex *m) { pthread_mutex_unlock(m); }

/* write(2) until done: async-signal-safe. */
static inline void osdep_write_stderr(const char *buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(2, buf + done, n - done);
    if (w > 0)
      done += (size_t)w;
    else if (w < 0 && errno == EINTR)
      continue;
    else
      break;
  }
}

static inline _Noreturn void osdep_fail_fast(void) { abort(); }

/* The park's signal mask (protsg_posix.c): osdep_park_signals sets the mask the thread had
 * when it faulted (uc's, without the signals an instruction raises) and keeps the
 * handler's in *saved; osdep_unpark_signals puts it back.  Async-signal-safe. */
typedef struct {
  sigset_t mask;
} osdep_park_mask;
void osdep_park_signals(const osdep_fault_frame *uc, osdep_park_mask *saved);
void osdep_unpark_signals(const osdep_park_mask *saved);

#if defined(__APPLE__)
/* ---- macOS (osdep_darwin.c) --------------------------------------------------- */
int32_t osdep_thread_id(void);
int64_t osdep_now_ns(void);
void osdep_yield(void);
void osdep_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns);
void osdep_wake_one(_Atomic uint32_t *word);
void osdep_wake_all(_Atomic uint32_t *word);

extern pthread_key_t osdep_tls_keys[OSDEP_TLS_N];
extern _Atomic int osdep_tls_ready;

static inline uintptr_t osdep_tls_get(int key) {
  return atomic_load_explicit(&osdep_tls_ready, memory_order_acquire)
             ? (uintptr_t)pthread_getspecific(osdep_tls_keys[key])
             : 0;
}

static inline void osdep_tls_set(int key, uintptr_t v) {
  if (atomic_load_explicit(&osdep_tls_ready, memory_order_acquire))
    pthread_setspecific(osdep_tls_keys[key], (void *)v);
}

#define OSDEP_ACCESSOR \
  __attribute__((section("__TEXT,__mpsprot_acc,regular,pure_instructions"), noinline, used))
extern const char osdep_access_start[] __asm("section$start$__TEXT$__mpsprot_acc");
extern const char osdep_access_stop[] __asm("section$end$__TEXT$__mpsprot_acc");

static inline int osdep_in_accessor(uint64_t pc) {
  return pc >= (uint64_t)(uintptr_t)osdep_access_start
         && pc < (uint64_t)(uintptr_t)osdep_access_stop;
}

#else
/* ---- Linux (inline; osdep_linux.c holds the TLS array) ------------------------ */
#include "inject.h"

#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>

static inline int32_t osdep_thread_id(void) { return (int32_t)syscall(SYS_gettid); }

static inline int64_t osdep_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static inline void osdep_yield(void) { sched_yield(); }

/* timeout_ns < 0: no timeout.  EINTR, EAGAIN, spurious wakes: the caller looks again. */
static inline void osdep_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns) {
  if (inject_fail(MPSPROT_INJECT_FUTEX) != 0)
    return; /* an injected failure: the caller looks again, as after EINTR */
  struct timespec rel, *relp = NULL;
  if (timeout_ns >= 0) {
    rel.tv_sec = timeout_ns / 1000000000;
    rel.tv_nsec = timeout_ns % 1000000000;
    relp = &rel;
  }
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, relp, NULL, 0);
}

static inline void osdep_wake_one(_Atomic uint32_t *word) {
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static inline void osdep_wake_all(_Atomic uint32_t *word) {
  syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Initial-exec TLS: no allocation on first touch, so the handler may use it
 * (design .sol.tls). */
extern __thread uintptr_t osdep_tls[OSDEP_TLS_N] __attribute__((tls_model("initial-exec")));

static inline uintptr_t osdep_tls_get(int key) { return osdep_tls[key]; }
static inline void osdep_tls_set(int key, uintptr_t v) { osdep_tls[key] = v; }

/* The accessors' ELF section; the linker defines its bounds. */
#define OSDEP_ACCESSOR __attribute__((section("mpsprot_access"), noinline, used))
extern const char __start_mpsprot_access[] __attribute__((visibility("hidden")));
extern const char __stop_mpsprot_access[] __attribute__((visibility("hidden")));

static inline int osdep_in_accessor(uint64_t pc) {
  return pc >= (uint64_t)(uintptr_t)__start_mpsprot_access
         && pc < (uint64_t)(uintptr_t)__stop_mpsprot_access;
}

#endif /* Linux */
#endif /* POSIX */

#endif /* MPSPROT_OSDEP_H */
