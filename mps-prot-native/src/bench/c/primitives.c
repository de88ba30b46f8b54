/* primitives.c -- the Appel-Li virtual memory primitives in plain C, no JVM: the
 * baseline that `java -jar mps-prot.jar primitives` sets the Java API beside.
 *
 * Usage: mpsprot-primitives [repetitions] [pages]
 * Prints one line per primitive: "<name> <median ns> <min ns> <max ns>", each figure the
 * per-operation cost of one repetition, over `repetitions` repetitions.
 *
 * Assumes Linux (memfd_create, mprotect) and a page size from sysconf.  Each primitive
 * runs on memory mapped the way the module maps it (one memfd mapped twice, MAP_SHARED),
 * so that the C and Java figures measure the same kernel work.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static long page;

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* One memfd of n pages mapped twice; *alias receives the second view. */
static char *map_twin(long n, char **alias) {
  int fd = memfd_create("mpsprot-bench", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, n * page) != 0)
    die("memfd");
  char *m = mmap(NULL, (size_t)(n * page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char *a = mmap(NULL, (size_t)(n * page), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED || a == MAP_FAILED)
    die("mmap");
  close(fd);
  if (alias)
    *alias = a;
  else
    munmap(a, (size_t)(n * page));
  return m;
}

static void unmap_twin(char *m, char *a, long n) {
  munmap(m, (size_t)(n * page));
  if (a)
    munmap(a, (size_t)(n * page));
}

static void protect(char *p, long n, int prot) {
  if (mprotect(p, (size_t)(n * page), prot) != 0)
    die("mprotect");
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, int reps) {
  qsort(v, (size_t)reps, sizeof *v, cmp);
  printf("%s %.1f %.1f %.1f\n", name, v[reps / 2], v[0], v[reps - 1]);
}

/* prot1 (split): protect every other page of a read-write run, so each call splits a
 * mapping; unprot: open them again, each call merging three mappings into one. */
static void bench_prot1_unprot(long pages, double *prot1, double *unprot, int rep) {
  char *m = map_twin(2 * pages + 1, NULL);
  double t0 = now_ns();
  for (long i = 0; i < pages; i++)
    protect(m + (2 * i + 1) * page, 1, PROT_READ);
  double t1 = now_ns();
  for (long i = 0; i < pages; i++)
    protect(m + (2 * i + 1) * page, 1, PROT_READ | PROT_WRITE);
  double t2 = now_ns();
  prot1[rep] = (t1 - t0) / (double)pages;
  unprot[rep] = (t2 - t1) / (double)pages;
  unmap_twin(m, NULL, 2 * pages + 1);
}

/* prot1_merged: protect pages in address order, each joining the protected run before it. */
static double bench_prot1_merged(long pages) {
  char *m = map_twin(pages + 1, NULL);
  double t0 = now_ns();
  for (long i = 0; i < pages; i++)
    protect(m + i * page, 1, PROT_READ);
  double t1 = now_ns();
  unmap_twin(m, NULL, pages + 1);
  return (t1 - t0) / (double)pages;
}

/* protn_per_page: one call over many pages, alternating the protection. */
static double bench_protn(long pages) {
  char *m = map_twin(pages, NULL);
  for (long i = 0; i < pages; i++)
    m[i * page] = 1; /* populated pages: the kernel changes their page-table entries */
  const int rounds = 16;
  double t0 = now_ns();
  for (int r = 0; r < rounds; r++)
    protect(m, pages, (r & 1) ? PROT_READ | PROT_WRITE : PROT_READ);
  double t1 = now_ns();
  protect(m, pages, PROT_READ | PROT_WRITE);
  unmap_twin(m, NULL, pages);
  return (t1 - t0) / (double)(rounds * pages);
}

/* same_mode: ProtSet of one page to the protection it already has: the system call's
 * fixed cost, with no mapping split or merged (what a module adds shows plainly). */
static double bench_same_mode(long calls) {
  char *m = map_twin(3, NULL);
  double t0 = now_ns();
  for (long i = 0; i < calls; i++)
    protect(m + page, 1, PROT_READ | PROT_WRITE);
  double t1 = now_ns();
  unmap_twin(m, NULL, 3);
  return (t1 - t0) / (double)calls;
}

/* map2: set up a region mapped twice and touch every page through both views. */
static double bench_map2(long pages) {
  double t0 = now_ns();
  char *a;
  char *m = map_twin(pages, &a);
  for (long i = 0; i < pages; i++) {
    a[i * page] = 1;
    if (m[i * page] != 1)
      die("alias");
  }
  double t1 = now_ns();
  unmap_twin(m, a, pages);
  return (t1 - t0) / (double)pages;
}

/* trap_unprot: a write to a read-only page faults; the handler opens the page; the
 * store retries; then the page is protected again for the next round. */
static char *trap_page;
static void trap_handler(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  char *p = (char *)((uintptr_t)si->si_addr & ~(uintptr_t)(page - 1));
  if (p != trap_page)
    abort();
  mprotect(p, (size_t)page, PROT_READ | PROT_WRITE);
}

/* Installs h for SIGSEGV, keeping the previous action in *old. */
static void catch_segv(void (*h)(int, siginfo_t *, void *), struct sigaction *old) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = h;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, old);
}

static double bench_trap_unprot(long faults) {
  struct sigaction old;
  catch_segv(trap_handler, &old);
  trap_page = map_twin(1, NULL);
  volatile char *v = trap_page;
  double t0 = now_ns();
  for (long i = 0; i < faults; i++) {
    protect(trap_page, 1, PROT_READ);
    v[8] = (char)i;
  }
  double t1 = now_ns();
  sigaction(SIGSEGV, &old, NULL);
  unmap_twin(trap_page, NULL, 1);
  return (t1 - t0) / (double)faults;
}

/* handoff: the faulting thread's handler hands the fault to a second thread (futex) and
 * waits; the second thread opens the page and wakes it; the store retries. */
static _Atomic int handoff_state; /* 0 idle, 1 posted, 2 resolved, 3 stop */
static char *handoff_page;

static void futex_wait(_Atomic int *w, int v) {
  syscall(SYS_futex, (int *)w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *w) {
  syscall(SYS_futex, (int *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void handoff_handler(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  if (((uintptr_t)si->si_addr & ~(uintptr_t)(page - 1)) != (uintptr_t)handoff_page)
    abort();
  atomic_store(&handoff_state, 1);
  futex_wake(&handoff_state);
  int v;
  while ((v = atomic_load(&handoff_state)) == 1)
    futex_wait(&handoff_state, v);
  atomic_store(&handoff_state, 0);
}

static void *handoff_resolver(void *arg) {
  (void)arg;
  for (;;) {
    int v = atomic_load(&handoff_state);
    if (v == 3)
      return NULL;
    if (v != 1) {
      futex_wait(&handoff_state, v);
      continue;
    }
    mprotect(handoff_page, (size_t)page, PROT_READ | PROT_WRITE);
    atomic_store(&handoff_state, 2);
    futex_wake(&handoff_state);
  }
}

static double bench_handoff(long faults) {
  struct sigaction old;
  catch_segv(handoff_handler, &old);
  handoff_page = map_twin(1, NULL);
  atomic_store(&handoff_state, 0);
  pthread_t t;
  pthread_create(&t, NULL, handoff_resolver, NULL);
  volatile char *v = handoff_page;
  double t0 = now_ns();
  for (long i = 0; i < faults; i++) {
    protect(handoff_page, 1, PROT_READ);
    v[8] = (char)i;
  }
  double t1 = now_ns();
  atomic_store(&handoff_state, 3);
  futex_wake(&handoff_state);
  pthread_join(t, NULL);
  sigaction(SIGSEGV, &old, NULL);
  unmap_twin(handoff_page, NULL, 1);
  return (t1 - t0) / (double)faults;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 11;
  long pages = argc > 2 ? atol(argv[2]) : 1000;
  if (reps < 1 || pages < 1) {
    fprintf(stderr, "usage: %s [repetitions >= 1] [pages >= 1]\n", argv[0]);
    return 2;
  }
  page = sysconf(_SC_PAGESIZE);
  double *a = calloc((size_t)reps, sizeof *a), *b = calloc((size_t)reps, sizeof *b);
  if (!a || !b)
    die("calloc");
  printf("page_size %ld\n", page);
  for (int r = 0; r < reps; r++)
    bench_prot1_unprot(pages, a, b, r);
  report("prot1", a, reps);
  report("unprot", b, reps);
  for (int r = 0; r < reps; r++)
    a[r] = bench_prot1_merged(pages);
  report("prot1_merged", a, reps);
  for (int r = 0; r < reps; r++)
    a[r] = bench_protn(pages * 4);
  report("protn_per_page", a, reps);
  for (int r = 0; r < reps; r++)
    a[r] = bench_same_mode(pages * 10);
  report("same_mode", a, reps);
  for (int r = 0; r < reps; r++)
    a[r] = bench_map2(pages);
  report("map2", a, reps);
  for (int r = 0; r < reps; r++)
    a[r] = bench_trap_unprot(pages);
  report("trap_unprot", a, reps);
  for (int r = 0; r < reps; r++)
    a[r] = bench_handoff(pages);
  report("handoff", a, reps);
  return 0;
}
