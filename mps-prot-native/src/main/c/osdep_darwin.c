/* osdep_darwin.c -- the OS seam (osdep.h) for macOS (x86-64 and arm64)
 *
 * NOT VERIFIED HERE: written from Apple's headers and documentation, never compiled on
 * the project's machines (no Mac, no SDK); the macOS workflow builds and tests it.
 *
 * Assumes macOS 10.12 or later (clock_gettime, __ulock_wait) and Apple clang.
 *
 * Thread-local words: Mach-O __thread variables are created by dyld on a thread's
 * first access to them (tlv_get_addr allocates the thread's block with malloc), which
 * the fault handler may not do.  So the words are pthread keys, created once (a
 * constructor when the library loads, and osdep_init from mpsprot_setup if that
 * failed): on Darwin pthread_getspecific and pthread_setspecific read and write a slot
 * of the thread's own fixed TSD array, without allocating or locking.
 *
 * The wait: __ulock_wait / __ulock_wake (UL_COMPARE_AND_WAIT on a 32-bit word), the
 * futex of XNU, exported by libSystem since macOS 10.12 and used by libc++ for
 * std::atomic::wait.  It is not in the public headers, so it is declared here (the
 * public os_sync_wait_on_address needs macOS 14.4, newer than the macos-13 runner).
 * Its timeout is in microseconds, 0 meaning none, so a finite timeout is at least 1 us;
 * a wait may return early (EINTR, spurious, timeout): every caller looks again.
 *
 * The accessors' section: __TEXT,__mpsprot_acc, whose bounds the linker provides as
 * section$start$__TEXT$__mpsprot_acc and section$end$__TEXT$__mpsprot_acc.
 */
#include "osdep.h"

#include <errno.h>
#include <sched.h>
#include <time.h>

#define UL_COMPARE_AND_WAIT 1
#define ULF_WAKE_ALL 0x00000100u
#define ULF_NO_ERRNO 0x01000000u
extern int __ulock_wait(uint32_t operation, void *addr, uint64_t value, uint32_t timeout_us);
extern int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value);

pthread_key_t osdep_tls_keys[OSDEP_TLS_N];
_Atomic int osdep_tls_ready;
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

int osdep_init(void) {
  if (atomic_load_explicit(&osdep_tls_ready, memory_order_acquire))
    return 0;
  int err = 0;
  pthread_mutex_lock(&init_lock);
  if (!atomic_load_explicit(&osdep_tls_ready, memory_order_relaxed)) {
    int made = 0;
    for (; made < OSDEP_TLS_N; made++) {
      err = pthread_key_create(&osdep_tls_keys[made], NULL);
      if (err != 0)
        break;
    }
    if (err != 0) {
      while (made-- > 0)
        pthread_key_delete(osdep_tls_keys[made]);
    } else {
      atomic_store_explicit(&osdep_tls_ready, 1, memory_order_release);
    }
  }
  pthread_mutex_unlock(&init_lock);
  return err;
}

__attribute__((constructor)) static void osdep_load(void) { (void)osdep_init(); }

int32_t osdep_thread_id(void) {
  uint64_t tid = 0;
  pthread_threadid_np(NULL, &tid);
  return (int32_t)tid;
}

int64_t osdep_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void osdep_yield(void) { sched_yield(); }

void osdep_wait(_Atomic uint32_t *word, uint32_t expected, int64_t timeout_ns) {
  uint32_t us = 0; /* no timeout */
  if (timeout_ns >= 0) {
    int64_t u = (timeout_ns + 999) / 1000;
    us = u < 1 ? 1 : u > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)u;
  }
  __ulock_wait(UL_COMPARE_AND_WAIT | ULF_NO_ERRNO, (void *)word, expected, us);
}

void osdep_wake_one(_Atomic uint32_t *word) {
  __ulock_wake(UL_COMPARE_AND_WAIT | ULF_NO_ERRNO, (void *)word, 0);
}

void osdep_wake_all(_Atomic uint32_t *word) {
  __ulock_wake(UL_COMPARE_AND_WAIT | ULF_WAKE_ALL | ULF_NO_ERRNO, (void *)word, 0);
}
