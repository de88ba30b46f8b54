/* bench_linux.c -- the primitives benchmark's loops in C, run inside the calling
 * process (the JVM): mpsprot_bench_loop (mpsprot.h; docs/performance.md
 * .primitives.inproc).
 *
 * The loops are those of src/bench/c/primitives.c (the standalone program without a
 * JVM): the same memory (one memfd mapped MAP_SHARED), the same order of mprotect
 * calls, the same number of pages.  Run inside the JVM they measure what the kernel
 * charges this process (its mappings, its threads), so that Java / in-process C is what
 * the module's Java path adds.  TRAP_UNPROT cannot install a handler of its own in a
 * JVM: it uses a region of the module with the UNPROTECT policy, mpsprot_protect and a
 * plain store, so the fault path is the module's, as in the Java loop.
 *
 * A benchmark, not part of the module's contracts: its system calls do not go through
 * the fault-injection seam (inject.h), and a failure returns the errno.  Not used by
 * the signal handler. */
#include "mpsprot.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double bench_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* n pages of one memfd, mapped MAP_SHARED read-write; NULL with errno on failure. */
static char *bench_map(long page, long n) {
  int fd = memfd_create("mpsprot-bench", MFD_CLOEXEC);
  if (fd < 0)
    return NULL;
  if (ftruncate(fd, n * page) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return NULL;
  }
  char *m = mmap(NULL, (size_t)(n * page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int e = errno;
  close(fd);
  errno = e;
  return m == MAP_FAILED ? NULL : m;
}

static _Atomic int bench_spin_stop;

static void *bench_spin(void *arg) {
  (void)arg;
  volatile uint64_t x = 0;
  while (!atomic_load_explicit(&bench_spin_stop, memory_order_relaxed))
    x++;
  return NULL;
}

static int bench_prot1(long page, long pages, char *at, double *out) {
  char *m = at != NULL ? at : bench_map(page, 2 * pages + 1);
  if (m == NULL)
    return errno;
  int err = 0;
  double t0 = bench_now();
  for (long i = 0; i < pages && err == 0; i++)
    if (mprotect(m + (2 * i + 1) * page, (size_t)page, PROT_READ) != 0)
      err = errno;
  double t1 = bench_now();
  for (long i = 0; i < pages && err == 0; i++)
    if (mprotect(m + (2 * i + 1) * page, (size_t)page, PROT_READ | PROT_WRITE) != 0)
      err = errno;
  double t2 = bench_now();
  if (at == NULL)
    munmap(m, (size_t)((2 * pages + 1) * page));
  out[0] = (t1 - t0) / (double)pages;
  out[1] = (t2 - t1) / (double)pages;
  return err;
}

static int bench_prot1_merged(long page, long pages, char *at, double *out) {
  char *m = at != NULL ? at : bench_map(page, pages + 1);
  if (m == NULL)
    return errno;
  int err = 0;
  double t0 = bench_now();
  for (long i = 0; i < pages && err == 0; i++)
    if (mprotect(m + i * page, (size_t)page, PROT_READ) != 0)
      err = errno;
  out[0] = (bench_now() - t0) / (double)pages;
  if (at != NULL) {
    if (mprotect(m, (size_t)(pages * page), PROT_READ | PROT_WRITE) != 0 && err == 0)
      err = errno; /* read-write again, as the record says */
  } else {
    munmap(m, (size_t)((pages + 1) * page));
  }
  return err;
}

static int bench_same_mode(long page, long calls, double *out) {
  char *m = bench_map(page, 3);
  if (m == NULL)
    return errno;
  int err = 0;
  double t0 = bench_now();
  for (long i = 0; i < calls && err == 0; i++)
    if (mprotect(m + page, (size_t)page, PROT_READ | PROT_WRITE) != 0)
      err = errno;
  out[0] = (bench_now() - t0) / (double)calls;
  munmap(m, (size_t)(3 * page));
  return err;
}

static int bench_protn(long page, long pages, double *out) {
  char *m = bench_map(page, pages);
  if (m == NULL)
    return errno;
  for (long i = 0; i < pages; i++)
    m[i * page] = 1;
  const int rounds = 16;
  int err = 0;
  double t0 = bench_now();
  for (int r = 0; r < rounds && err == 0; r++)
    if (mprotect(m, (size_t)(pages * page), (r & 1) ? PROT_READ | PROT_WRITE : PROT_READ) != 0)
      err = errno;
  out[0] = (bench_now() - t0) / (double)(rounds * pages);
  munmap(m, (size_t)(pages * page));
  return err;
}

static int bench_trap_unprot(long page, long faults, int slot, int64_t base, double *out) {
  volatile uint64_t *v = (volatile uint64_t *)(uintptr_t)(base + 8);
  int32_t restore = 0;
  int err = 0;
  double t0 = bench_now();
  for (long i = 0; i < faults && err == 0; i++) {
    err = mpsprot_protect(slot, 0, page, MPSPROT_ACCESS_WRITE, &restore);
    *v = (uint64_t)i; /* faults; the module's handler opens the page; the store retries */
  }
  out[0] = (bench_now() - t0) / (double)faults;
  return err;
}

/* same_mode through the shim's own ProtSet: what mpsprot_protect adds to mprotect. */
static int bench_same_mode_shim(long page, long calls, int slot, double *out) {
  int32_t restore = 0;
  int err = 0;
  double t0 = bench_now();
  for (long i = 0; i < calls && err == 0; i++)
    err = mpsprot_protect(slot, page, page, 0, &restore);
  out[0] = (bench_now() - t0) / (double)calls;
  return err;
}

int mpsprot_bench_loop(int which, int64_t n, int busy, int slot, int64_t base, double *out) {
  if (out == NULL || n < 1)
    return EINVAL;
  long page = sysconf(_SC_PAGESIZE);
  pthread_t spinner;
  if (busy) {
    atomic_store(&bench_spin_stop, 0);
    int e = pthread_create(&spinner, NULL, bench_spin, NULL);
    if (e != 0)
      return e;
  }
  int err;
  switch (which) {
  case MPSPROT_BENCH_PROT1: err = bench_prot1(page, (long)n, NULL, out); break;
  case MPSPROT_BENCH_PROT1_MERGED: err = bench_prot1_merged(page, (long)n, NULL, out); break;
  case MPSPROT_BENCH_PROT1_AT:
    err = base == 0 ? EINVAL : bench_prot1(page, (long)n, (char *)(uintptr_t)base, out);
    break;
  case MPSPROT_BENCH_PROT1_MERGED_AT:
    err = base == 0 ? EINVAL : bench_prot1_merged(page, (long)n, (char *)(uintptr_t)base, out);
    break;
  case MPSPROT_BENCH_SAME_MODE: err = bench_same_mode(page, (long)n, out); break;
  case MPSPROT_BENCH_PROTN: err = bench_protn(page, (long)n, out); break;
  case MPSPROT_BENCH_TRAP_UNPROT: err = bench_trap_unprot(page, (long)n, slot, base, out); break;
  case MPSPROT_BENCH_SAME_MODE_SHIM: err = bench_same_mode_shim(page, (long)n, slot, out); break;
  default: err = EINVAL;
  }
  if (busy) {
    atomic_store(&bench_spin_stop, 1);
    pthread_join(spinner, NULL);
  }
  return err;
}
