/* test_ring_windows.c -- the fault-event ring (docs/design/fault.md .ring) on Windows
 * (run under Wine here), through the vectored handler, as test_ring.c on Linux: one
 * fault's record, an access violation passed on (chained), a full ring (drop and count,
 * the oldest records in order), and concurrent producers with a concurrent drain. */
#include "check.h"
#include "mpsprot.h"
#include "testwin.h"

#define W MPSPROT_FAULT_RING_WORDS
#define CAP MPSPROT_FAULT_RING_CAPACITY

static long page;
static int64_t buf[2 * CAP * W];

static int drain_all(void) {
  int n = 0, k;
  while (n < 2 * CAP && (k = mpsprot_fault_ring_drain(buf + (size_t)n * W, 2 * CAP - n)) > 0)
    n += k;
  return n;
}

static int resolution_of(const int64_t *r) { return (int)((r[5] >> 16) & 0xff); }

struct region {
  int slot;
  char *base;
};

static struct region make(int pages) {
  int64_t out[4];
  struct region r = {-1, NULL};
  CHECK(mpsprot_region_create(pages * page, out) == 0, "create");
  r.slot = (int)out[0];
  r.base = (char *)(uintptr_t)out[1];
  CHECK(mpsprot_region_set_policy(r.slot, MPSPROT_POLICY_UNPROTECT, 0) == 0, "policy");
  return r;
}

static void protect(struct region r, int64_t off, int64_t len) {
  int32_t rf;
  CHECK(mpsprot_protect(r.slot, off, len, MPSPROT_ACCESS_WRITE, &rf) == 0, "protect");
}

static char *fault_address(char *base, int first, int pages, int i) {
  return base + (int64_t)(first + i % pages) * page + 8 * (i / pages);
}

static void faults(struct region r, int first, int pages, int count) {
  for (int i = 0; i < count; i++) {
    if (i % pages == 0)
      protect(r, (int64_t)first * page, (int64_t)pages * page);
    *(volatile char *)fault_address(r.base, first, pages, i) = 1;
  }
}

static void test_one_fault(void) {
  struct region r = make(4);
  mpsprot_fault_ring_sample(1);
  drain_all();
  protect(r, 0, 4 * page);
  *(volatile char *)(r.base + page + 24) = 1;
  int n = drain_all();
  CHECK(n == 1, "one record: %d", n);
  if (n == 1)
    CHECK(buf[0] == (int64_t)(uintptr_t)(r.base + page + 24) && buf[3] == (int64_t)GetCurrentThreadId()
              && buf[4] == r.slot && (buf[5] & 0xff) == MPSPROT_ACCESS_WRITE
              && resolution_of(buf) == MPSPROT_FAULT_UNPROTECTED && buf[2] >= 0,
          "address, thread, slot, write, unprotected: %llx %lld %lld %llx",
          (unsigned long long)buf[0], (long long)buf[3], (long long)buf[4],
          (unsigned long long)buf[5]);
  mpsprot_fault_ring_sample(0);
  mpsprot_region_destroy(r.slot);
}

/* A handler behind the module's: makes the page it faulted on writable. */
static LONG CALLBACK opener(EXCEPTION_POINTERS *ep) {
  EXCEPTION_RECORD *er = ep->ExceptionRecord;
  if (er->ExceptionCode != EXCEPTION_ACCESS_VIOLATION || er->NumberParameters < 2)
    return EXCEPTION_CONTINUE_SEARCH;
  DWORD old;
  uintptr_t p = (uintptr_t)er->ExceptionInformation[1] & ~(uintptr_t)(page - 1);
  if (!VirtualProtect((void *)p, (SIZE_T)page, PAGE_READWRITE, &old))
    return EXCEPTION_CONTINUE_SEARCH;
  return EXCEPTION_CONTINUE_EXECUTION;
}

static void test_chained(void) {
  char *m = VirtualAlloc(NULL, (SIZE_T)page, MEM_COMMIT | MEM_RESERVE, PAGE_READONLY);
  CHECK(m != NULL, "VirtualAlloc");
  void *h = AddVectoredExceptionHandler(0, opener); /* after the module's */
  mpsprot_fault_ring_sample(1);
  drain_all();
  *(volatile char *)(m + 40) = 1;
  int n = drain_all();
  CHECK(n == 1, "one record: %d", n);
  if (n == 1)
    CHECK(buf[0] == (int64_t)(uintptr_t)(m + 40) && buf[4] == -1
              && resolution_of(buf) == MPSPROT_FAULT_CHAINED,
          "chained: %llx %lld %llx", (unsigned long long)buf[0], (long long)buf[4],
          (unsigned long long)buf[5]);
  mpsprot_fault_ring_sample(0);
  RemoveVectoredExceptionHandler(h);
  VirtualFree(m, 0, MEM_RELEASE);
}

static void test_overflow(void) {
  struct region r = make(64);
  mpsprot_fault_ring_sample(1);
  drain_all();
  int64_t dropped0 = mpsprot_fault_ring_dropped();
  faults(r, 0, 64, CAP + 100);
  CHECK(mpsprot_fault_ring_dropped() - dropped0 == 100, "100 dropped and counted: %lld",
        (long long)(mpsprot_fault_ring_dropped() - dropped0));
  int n = drain_all();
  CHECK(n == CAP, "a full ring: %d", n);
  int ordered = 1;
  for (int i = 0; i < n; i++)
    if (buf[(size_t)i * W] != (int64_t)(uintptr_t)fault_address(r.base, 0, 64, i))
      ordered = 0;
  CHECK(ordered, "the oldest records, in order");
  mpsprot_fault_ring_sample(0);
  mpsprot_region_destroy(r.slot);
}

#define WRITERS 4
#define PER_WRITER 2000
#define WRITER_PAGES 16

struct writer {
  tw_thread thread;
  struct region r;
  int index;
};

static volatile LONG writers_done;

static DWORD WINAPI writer_main(void *arg) {
  struct writer *w = arg;
  faults(w->r, w->index * WRITER_PAGES, WRITER_PAGES, PER_WRITER);
  InterlockedIncrement(&writers_done);
  return 0;
}

static int64_t all[WRITERS * PER_WRITER * W];

static void test_concurrent(void) {
  struct region r = make(WRITERS * WRITER_PAGES);
  struct writer w[WRITERS];
  mpsprot_fault_ring_sample(1);
  drain_all();
  int64_t dropped0 = mpsprot_fault_ring_dropped();
  writers_done = 0;
  for (int i = 0; i < WRITERS; i++) {
    w[i].r = r;
    w[i].index = i;
    tw_start(&w[i].thread, writer_main, &w[i]);
  }
  int n = 0, k;
  while (writers_done < WRITERS) {
    k = mpsprot_fault_ring_drain(all + (size_t)n * W, WRITERS * PER_WRITER - n);
    n += k;
    if (k == 0)
      SwitchToThread();
  }
  for (int i = 0; i < WRITERS; i++)
    tw_join(&w[i].thread);
  while ((k = mpsprot_fault_ring_drain(all + (size_t)n * W, WRITERS * PER_WRITER - n)) > 0)
    n += k;
  int64_t dropped = mpsprot_fault_ring_dropped() - dropped0;
  CHECK(n + dropped == WRITERS * PER_WRITER, "every fault recorded or counted: %d + %lld", n,
        (long long)dropped);
  /* Per writer (told by the address), its faults in its order, once each. */
  int next[WRITERS] = {0}, bad = 0;
  for (int j = 0; j < n; j++) {
    const int64_t *rec = all + (size_t)j * W;
    int who = (int)(((char *)(uintptr_t)rec[0] - r.base) / page / WRITER_PAGES);
    if (who < 0 || who >= WRITERS) {
      bad++;
      continue;
    }
    int i = next[who];
    while (i < PER_WRITER
           && rec[0] != (int64_t)(uintptr_t)fault_address(r.base, who * WRITER_PAGES,
                                                          WRITER_PAGES, i))
      i++;
    if (i == PER_WRITER)
      bad++;
    else
      next[who] = i + 1;
  }
  CHECK(bad == 0, "records out of order or unknown: %d", bad);
  printf("  concurrent: %d recorded, %lld dropped\n", n, (long long)dropped);
  mpsprot_fault_ring_sample(0);
  mpsprot_region_destroy(r.slot);
}

int main(void) {
  tw_watchdog(120);
  page = (long)mpsprot_page_size();
  CHECK(mpsprot_setup() == 0, "setup");
  test_one_fault();
  test_chained();
  test_overflow();
  test_concurrent();
  return check_report("test_ring_windows");
}
