/* inject.c -- the fault-injection seam's counters and its API (inject.h, mpsprot.h
 * mpsprot_inject*)
 *
 * Assumes nothing of the OS: only C11 atomics.  In the release build the API answers
 * ENOSYS / -1 and inject_fail does not exist (inject.h makes it the constant 0); in the
 * test build (-DMPSPROT_INJECT) each site keeps how many calls it saw since it was last
 * armed, and the window [nth, nth + count) of those calls that fail with `err`.
 */
#include "inject.h"
#include "mpsprot.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#if defined(MPSPROT_INJECT)

struct inject_site_state {
  _Atomic int64_t calls;  /* calls seen since armed (or since load) */
  _Atomic int64_t fired;  /* calls made to fail since armed */
  _Atomic int64_t first;  /* the first failing call, 1-based; 0 = disarmed */
  _Atomic int64_t count;  /* how many calls from first on fail */
  _Atomic int err;
};

static struct inject_site_state sites[MPSPROT_INJECT_N];

int inject_fail(int site) {
  struct inject_site_state *s = &sites[site];
  int64_t n = atomic_fetch_add_explicit(&s->calls, 1, memory_order_relaxed) + 1;
  int64_t first = atomic_load_explicit(&s->first, memory_order_acquire);
  if (first == 0 || n < first || n - first >= atomic_load_explicit(&s->count, memory_order_relaxed))
    return 0;
  atomic_fetch_add_explicit(&s->fired, 1, memory_order_relaxed);
  return atomic_load_explicit(&s->err, memory_order_relaxed);
}

static _Atomic(mpsprot_inject_pause_fn) pause_fn;

void inject_pause(int point) {
  mpsprot_inject_pause_fn fn = atomic_load_explicit(&pause_fn, memory_order_acquire);
  if (fn != NULL)
    fn(point);
}

int mpsprot_inject_pause(mpsprot_inject_pause_fn fn) {
  atomic_store_explicit(&pause_fn, fn, memory_order_release);
  return 0;
}

int mpsprot_inject(int site, int64_t nth, int64_t count, int err) {
  if (site < 0 || site >= MPSPROT_INJECT_N || nth < 0 || count < 0 || (nth > 0 && err <= 0))
    return EINVAL;
  struct inject_site_state *s = &sites[site];
  atomic_store_explicit(&s->first, 0, memory_order_release); /* disarm while changing */
  atomic_store_explicit(&s->calls, 0, memory_order_relaxed);
  atomic_store_explicit(&s->fired, 0, memory_order_relaxed);
  atomic_store_explicit(&s->count, count, memory_order_relaxed);
  atomic_store_explicit(&s->err, err, memory_order_relaxed);
  atomic_store_explicit(&s->first, nth, memory_order_release);
  return 0;
}

int64_t mpsprot_inject_count(int site, int which) {
  if (site < 0 || site >= MPSPROT_INJECT_N)
    return -1;
  if (which == 0)
    return atomic_load_explicit(&sites[site].calls, memory_order_relaxed);
  if (which == 1)
    return atomic_load_explicit(&sites[site].fired, memory_order_relaxed);
  return -1;
}

#else

int mpsprot_inject_pause(mpsprot_inject_pause_fn fn) {
  (void)fn;
  return ENOSYS;
}

int mpsprot_inject(int site, int64_t nth, int64_t count, int err) {
  (void)site;
  (void)nth;
  (void)count;
  (void)err;
  return ENOSYS;
}

int64_t mpsprot_inject_count(int site, int which) {
  (void)site;
  (void)which;
  return -1;
}

#endif
