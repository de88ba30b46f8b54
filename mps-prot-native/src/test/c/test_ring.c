/* test_ring.c -- the sampled fault-event ring (docs/design/fault.md .ring), through the
 * real handler: what one fault records (address, thread, slot, access, policy,
 * resolution, time), faults passed on, sampling off and every n-th, a full ring (drop and
 * count, the oldest records kept in order, the ring usable again), and concurrent
 * producers with and without a concurrent drain (every fault recorded once or counted as
 * dropped, each thread's records in its own order). */
#include "check.h"
#include "mpsprot.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define W MPSPROT_FAULT_RING_WORDS
#define CAP MPSPROT_FAULT_RING_CAPACITY

static long page;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int32_t tid(void) { return (int32_t)syscall(SYS_gettid); }

static int64_t buf[4 * CAP * W];

/* Drains everything there is into buf; returns how many records. */
static int drain_all(void) {
  int n = 0, k;
  while (n < 4 * CAP && (k = mpsprot_fault_ring_drain(buf + (size_t)n * W, 4 * CAP - n)) > 0)
    n += k;
  return n;
}

static int access_of(const int64_t *r) { return (int)(r[5] & 0xff); }
static int policy_of(const int64_t *r) { return (int)((r[5] >> 8) & 0xff); }
static int resolution_of(const int64_t *r) { return (int)((r[5] >> 16) & 0xff); }

struct region {
  int slot;
  char *base;
};

static struct region make(int pages, int policy) {
  int64_t out[4];
  struct region r = {-1, NULL};
  CHECK(mpsprot_region_create(pages * page, out) == 0, "create");
  r.slot = (int)out[0];
  r.base = (char *)(uintptr_t)out[1];
  CHECK(mpsprot_region_set_policy(r.slot, policy, 0) == 0, "policy");
  return r;
}

static void protect(struct region r, int64_t off, int64_t len, int mode) {
  int32_t rf;
  CHECK(mpsprot_protect(r.slot, off, len, mode, &rf) == 0, "protect");
}

static void test_arguments(void) {
  CHECK(mpsprot_fault_ring_sample(-1) == -1, "a negative period is refused");
  CHECK(mpsprot_fault_ring_sample(0) == 0, "off by default, and unchanged by the refusal");
  CHECK(mpsprot_fault_ring_drain(NULL, 1) == -1, "NULL out");
  CHECK(mpsprot_fault_ring_drain(NULL, 0) == 0, "NULL out, max 0");
  CHECK(mpsprot_handoff_parked_ns(-1) == -1 && mpsprot_handoff_parked_ns(12345) == -1,
        "no parked time for a ticket that is not taken");
}

static void test_off(void) {
  struct region r = make(4, MPSPROT_POLICY_UNPROTECT);
  mpsprot_fault_ring_sample(0);
  drain_all();
  protect(r, 0, 4 * page, MPSPROT_ACCESS_WRITE);
  for (int i = 0; i < 4; i++)
    r.base[i * page] = 1;
  CHECK(mpsprot_counter(MPSPROT_COUNT_FAULTS_WRITE) >= 4, "faults were taken");
  CHECK(drain_all() == 0, "sampling off: nothing recorded");
  mpsprot_region_destroy(r.slot);
}

static void test_one_fault(void) {
  struct region r = make(8, MPSPROT_POLICY_UNPROTECT);
  CHECK(mpsprot_fault_ring_sample(1) == 0, "previous period");
  drain_all();
  protect(r, 0, 8 * page, MPSPROT_ACCESS_ALL);
  int64_t before = now_ns();
  r.base[2 * page + 24] = 7;                       /* a write fault */
  volatile char c = r.base[5 * page + 8];          /* a read fault */
  (void)c;
  int64_t after = now_ns();
  int n = drain_all();
  CHECK(n == 2, "two faults, two records: %d", n);
  if (n == 2) {
    const int64_t *w = buf, *rd = buf + W;
    CHECK(w[0] == (int64_t)(uintptr_t)(r.base + 2 * page + 24), "the exact address");
    CHECK(w[1] >= before && w[1] <= after, "the fault's time");
    CHECK(w[2] >= 0 && w[1] + w[2] <= after, "the handler's duration %ld", (long)w[2]);
    CHECK(w[3] == tid() && w[4] == r.slot, "thread %ld, slot %ld", (long)w[3], (long)w[4]);
    CHECK(access_of(w) == MPSPROT_ACCESS_WRITE && policy_of(w) == MPSPROT_POLICY_UNPROTECT
              && resolution_of(w) == MPSPROT_FAULT_UNPROTECTED,
          "write, UNPROTECT, unprotected: %lx", (long)w[5]);
    CHECK(rd[0] == (int64_t)(uintptr_t)(r.base + 5 * page + 8) && rd[1] >= w[1],
          "the read, after the write");
    CHECK(access_of(rd) == MPSPROT_ACCESS_READ && resolution_of(rd) == MPSPROT_FAULT_UNPROTECTED,
          "read: %lx", (long)rd[5]);
  }
  /* STEP: stepped, the page stays protected. */
  CHECK(mpsprot_region_set_policy(r.slot, MPSPROT_POLICY_STEP, 0) == 0, "STEP");
  protect(r, 0, page, MPSPROT_ACCESS_WRITE);
  *(volatile int64_t *)(r.base + 16) = 42;
  n = drain_all();
  CHECK(n == 1 && policy_of(buf) == MPSPROT_POLICY_STEP
            && resolution_of(buf) == MPSPROT_FAULT_STEPPED,
        "STEP: %d records, kind %lx", n, n > 0 ? (long)buf[5] : 0L);
  mpsprot_fault_ring_sample(0);
  mpsprot_region_destroy(r.slot);
}

/* The previous handler of this program: opens the page it faulted on. */
static void previous(int sig, siginfo_t *info, void *uc) {
  (void)sig;
  (void)uc;
  uintptr_t p = (uintptr_t)info->si_addr & ~(uintptr_t)(page - 1);
  mprotect((void *)p, (size_t)page, PROT_READ | PROT_WRITE);
}

static void test_chained(void) {
  char *m = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED, "mmap");
  mpsprot_fault_ring_sample(1);
  drain_all();
  m[40] = 1; /* not a region's: chained to previous(), which opens it */
  int n = drain_all();
  CHECK(n == 1, "one record: %d", n);
  if (n == 1)
    CHECK(buf[0] == (int64_t)(uintptr_t)(m + 40) && buf[4] == -1
              && resolution_of(buf) == MPSPROT_FAULT_CHAINED && buf[3] == tid(),
          "chained: address, slot -1, thread: %lx %ld %lx", (long)buf[0], (long)buf[4],
          (long)buf[5]);
  mpsprot_fault_ring_sample(0);
  munmap(m, (size_t)page);
}

static void test_sampling(void) {
  struct region r = make(4, MPSPROT_POLICY_UNPROTECT);
  mpsprot_fault_ring_sample(4);
  drain_all();
  for (int i = 0; i < 400; i++) {
    protect(r, 0, page, MPSPROT_ACCESS_WRITE);
    r.base[8] = 1;
  }
  int n = drain_all();
  CHECK(n == 100, "every 4th of 400 faults: %d", n);
  mpsprot_fault_ring_sample(0);
  mpsprot_region_destroy(r.slot);
}

/* Fault number i of a writer touches page first + i % pages at offset 8 * (i / pages). */
static char *fault_address(char *base, int first, int pages, int i) {
  return base + (int64_t)(first + i % pages) * page + 8 * (i / pages);
}

static void faults(struct region r, int first, int pages, int count) {
  for (int i = 0; i < count; i++) {
    if (i % pages == 0)
      protect(r, (int64_t)first * page, (int64_t)pages * page, MPSPROT_ACCESS_WRITE);
    *fault_address(r.base, first, pages, i) = 1;
  }
}

static void test_overflow(void) {
  struct region r = make(64, MPSPROT_POLICY_UNPROTECT);
  mpsprot_fault_ring_sample(1);
  drain_all();
  int64_t dropped0 = mpsprot_fault_ring_dropped();
  faults(r, 0, 64, CAP + 100);
  CHECK(mpsprot_fault_ring_dropped() - dropped0 == 100, "the 100 that found the ring full "
        "are counted: %ld", (long)(mpsprot_fault_ring_dropped() - dropped0));
  int n = drain_all();
  CHECK(n == CAP, "a full ring: %d", n);
  int ordered = 1;
  for (int i = 0; i < n; i++)
    if (buf[(size_t)i * W] != (int64_t)(uintptr_t)fault_address(r.base, 0, 64, i))
      ordered = 0;
  CHECK(ordered, "the oldest records, in the order of the faults");
  /* Usable again after the drain. */
  faults(r, 0, 64, 1);
  n = drain_all();
  CHECK(n == 1 && buf[0] == (int64_t)(uintptr_t)r.base, "recorded again after a drain: %d", n);
  CHECK(mpsprot_fault_ring_dropped() - dropped0 == 100, "nothing more dropped");
  mpsprot_fault_ring_sample(0);
  mpsprot_region_destroy(r.slot);
}

#define WRITERS 4
#define PER_WRITER 3000
#define WRITER_PAGES 16

struct writer {
  pthread_t thread;
  struct region r;
  int index;
  int32_t tid;
};

static atomic_int writers_done;

static void *writer_main(void *arg) {
  struct writer *w = arg;
  w->tid = tid();
  faults(w->r, w->index * WRITER_PAGES, WRITER_PAGES, PER_WRITER);
  atomic_fetch_add(&writers_done, 1);
  return NULL;
}

static int64_t all[WRITERS * PER_WRITER * W];

/* Writers fault concurrently; with `drainer`, this thread drains meanwhile. */
static void concurrent(int drainer) {
  struct region r = make(WRITERS * WRITER_PAGES, MPSPROT_POLICY_UNPROTECT);
  struct writer w[WRITERS];
  mpsprot_fault_ring_sample(1);
  drain_all();
  int64_t dropped0 = mpsprot_fault_ring_dropped();
  atomic_store(&writers_done, 0);
  for (int i = 0; i < WRITERS; i++) {
    w[i].r = r;
    w[i].index = i;
    pthread_create(&w[i].thread, NULL, writer_main, &w[i]);
  }
  int n = 0;
  while (drainer && atomic_load(&writers_done) < WRITERS) {
    int k = mpsprot_fault_ring_drain(all + (size_t)n * W, WRITERS * PER_WRITER - n);
    n += k;
    if (k == 0)
      sched_yield();
  }
  for (int i = 0; i < WRITERS; i++)
    pthread_join(w[i].thread, NULL);
  int k;
  while ((k = mpsprot_fault_ring_drain(all + (size_t)n * W, WRITERS * PER_WRITER - n)) > 0)
    n += k;
  int64_t dropped = mpsprot_fault_ring_dropped() - dropped0;
  CHECK(n + dropped == WRITERS * PER_WRITER, "every fault recorded or counted as dropped: "
        "%d drained + %ld dropped", n, (long)dropped);
  if (!drainer)
    CHECK(n == CAP, "no drain meanwhile: a full ring, %d", n);
  /* Each writer's records are its own faults, once each, in its order. */
  int next[WRITERS] = {0}, bad = 0, foreign = 0;
  for (int j = 0; j < n; j++) {
    const int64_t *rec = all + (size_t)j * W;
    int who = -1;
    for (int i = 0; i < WRITERS; i++)
      if (rec[3] == w[i].tid)
        who = i;
    if (who < 0) {
      foreign++;
      continue;
    }
    /* The first fault number >= next[who] whose address is rec[0]. */
    int i = next[who];
    while (i < PER_WRITER
           && rec[0] != (int64_t)(uintptr_t)fault_address(r.base, who * WRITER_PAGES,
                                                          WRITER_PAGES, i))
      i++;
    if (i == PER_WRITER)
      bad++;
    else
      next[who] = i + 1;
    if (resolution_of(rec) != MPSPROT_FAULT_UNPROTECTED || rec[4] != r.slot)
      bad++;
  }
  CHECK(foreign == 0 && bad == 0, "records of other threads %d, out of order or wrong %d",
        foreign, bad);
  printf("  concurrent (%s): %d recorded, %ld dropped\n", drainer ? "drained meanwhile"
         : "no drain", n, (long)dropped);
  mpsprot_fault_ring_sample(0);
  mpsprot_region_destroy(r.slot);
}

static void on_alarm(int sig) {
  (void)sig;
  static const char m[] = "test_ring: timed out\n";
  (void)!write(2, m, sizeof m - 1);
  _exit(2);
}

int main(void) {
  signal(SIGALRM, on_alarm);
  alarm(120);
  page = sysconf(_SC_PAGESIZE);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = previous;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL); /* before setup: the module chains to it */
  CHECK(mpsprot_setup() == 0, "setup");
  test_arguments();
  test_off();
  test_one_fault();
  test_chained();
  test_sampling();
  test_overflow();
  concurrent(1);
  concurrent(0);
  return check_report("test_ring");
}
