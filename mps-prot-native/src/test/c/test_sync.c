/* test_sync.c -- ProtSync in the shim (mpsprot_region_sync): differences found, confirmed
 * and repaired; unmapped and replaced pages reported, marked and left alone; paging
 * through a small output; the cost on a sparse 256 GiB region (printed). */
#include "check.h"
#include "mpsprot.h"
#include "probe_posix.h" /* os_perms */

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static long page;

struct reg {
  int slot;
  char *base, *alias;
};

static struct reg make(int64_t size) {
  int64_t out[4];
  int err = mpsprot_region_create(size, out);
  CHECK(err == 0, "create %lld: %s", (long long)size, strerror(err));
  struct reg r = {(int)out[0], (char *)(uintptr_t)out[1], (char *)(uintptr_t)out[2]};
  return r;
}

/* Syncs the whole region, all runs into out (room for max); returns the runs. */
static int sync_all(struct reg r, int repair, int64_t *out, int max) {
  int64_t res[2];
  int err = mpsprot_region_sync(r.slot, (int64_t)(uintptr_t)r.base, repair, 0, out, max, res);
  CHECK(err == 0, "sync: %s", strerror(err));
  return (int)res[0];
}

static void test_clean_and_repair(void) {
  struct reg r = make(8 * page);
  int32_t rf;
  CHECK(mpsprot_protect(r.slot, page, 3 * page, MPSPROT_ACCESS_WRITE, &rf) == 0, "protect");
  CHECK(mpsprot_protect(r.slot, 5 * page, page, MPSPROT_ACCESS_READ, &rf) == 0, "protect");
  int64_t out[7 * 16];
  CHECK(sync_all(r, 1, out, 16) == 0, "clean");
  /* Tamper: two pages opened from outside, one alias page closed. */
  CHECK(mprotect(r.base + 2 * page, 2 * page, PROT_READ | PROT_WRITE) == 0, "mprotect");
  CHECK(mprotect(r.alias + 6 * page, page, PROT_NONE) == 0, "mprotect alias");
  int n = sync_all(r, 1, out, 16);
  CHECK(n == 2, "runs %d", n);
  CHECK(out[0] == (int64_t)(uintptr_t)(r.base + 2 * page) && out[1] == (int64_t)(uintptr_t)(r.base + 4 * page),
        "mutator run [%llx, %llx)", (long long)out[0], (long long)out[1]);
  CHECK(out[2] == MPSPROT_VIEW_MUTATOR && out[3] == MPSPROT_SYNC_DIFFERENT
            && out[4] == MPSPROT_ACCESS_WRITE
            && out[5] == (MPSPROT_QUERY_READ | MPSPROT_QUERY_WRITE) && out[6] == 1,
        "mutator run %lld %lld %lld %lld %lld", (long long)out[2], (long long)out[3],
        (long long)out[4], (long long)out[5], (long long)out[6]);
  CHECK(out[7] == (int64_t)(uintptr_t)(r.alias + 6 * page) && out[9] == MPSPROT_VIEW_ALIAS
            && out[10] == MPSPROT_SYNC_DIFFERENT && out[12] == 0 && out[13] == 1,
        "alias run");
  CHECK(strcmp(os_perms((uintptr_t)r.base + 2 * page), "r-") == 0, "repaired: %s",
        os_perms((uintptr_t)r.base + 2 * page));
  CHECK(strcmp(os_perms((uintptr_t)r.alias + 6 * page), "rw") == 0, "alias repaired");
  CHECK(sync_all(r, 1, out, 16) == 0, "clean after the repair");
  /* Without repair: reported, left as it is. */
  CHECK(mprotect(r.base, page, PROT_NONE) == 0, "mprotect");
  CHECK(sync_all(r, 0, out, 16) == 1 && out[6] == 0, "reported, not repaired");
  CHECK(strcmp(os_perms((uintptr_t)r.base), "--") == 0, "left alone");
  CHECK(sync_all(r, 1, out, 16) == 1 && out[6] == 1, "repaired now");
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
}

static void test_paging(void) {
  struct reg r = make(64 * page);
  for (int p = 0; p < 64; p += 2)
    CHECK(mprotect(r.base + p * page, page, PROT_READ) == 0, "mprotect");
  int64_t out[7 * 3], res[2], from = 0;
  int runs = 0, calls = 0;
  do {
    int err = mpsprot_region_sync(r.slot, (int64_t)(uintptr_t)r.base, 1, from, out, 3, res);
    CHECK(err == 0, "sync: %s", strerror(err));
    for (int i = 0; i < res[0]; i++)
      CHECK(out[7 * i] == (int64_t)(uintptr_t)(r.base + 2 * (runs + i) * page), "run %d in order", runs + i);
    runs += (int)res[0];
    from = res[1];
    calls++;
  } while (from < 128 && calls < 100);
  CHECK(runs == 32 && from == 128, "32 runs in pages of 3: %d, next %lld", runs, (long long)from);
  int64_t all[7 * 8];
  CHECK(sync_all(r, 1, all, 8) == 0, "all repaired");
  CHECK(mpsprot_region_sync(r.slot, (int64_t)(uintptr_t)r.base + page, 1, 0, out, 3, res) == EINVAL,
        "another base: refused");
  CHECK(mpsprot_region_sync(r.slot, (int64_t)(uintptr_t)r.base, 1, 0, out, 0, res) == EINVAL,
        "max 0: refused");
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
  CHECK(mpsprot_region_sync(r.slot, (int64_t)(uintptr_t)r.base, 1, 0, out, 3, res) == EINVAL,
        "dead slot: refused");
}

static void test_replaced_and_unmapped(void) {
  struct reg r = make(8 * page);
  int32_t rf;
  CHECK(mpsprot_protect(r.slot, 0, 8 * page, MPSPROT_ACCESS_WRITE, &rf) == 0, "protect");
  /* Someone maps over page 3 (anonymous, read-write, with a mark) and unmaps page 6. */
  char *foreign = mmap(r.base + 3 * page, page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  CHECK(foreign == r.base + 3 * page, "MAP_FIXED");
  foreign[0] = 77;
  CHECK(munmap(r.base + 6 * page, page) == 0, "munmap");
  char *alias_foreign = mmap(r.alias + 1 * page, page, PROT_READ,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  CHECK(alias_foreign == r.alias + page, "MAP_FIXED on the alias");
  int64_t out[7 * 16];
  int n = sync_all(r, 1, out, 16);
  CHECK(n == 3, "runs %d", n);
  CHECK(out[3] == MPSPROT_SYNC_REPLACED && out[0] == (int64_t)(uintptr_t)(r.base + 3 * page)
            && out[5] == (MPSPROT_QUERY_READ | MPSPROT_QUERY_WRITE) && out[6] == 0,
        "replaced: kind %lld", (long long)out[3]);
  CHECK(out[10] == MPSPROT_SYNC_UNMAPPED && out[7] == (int64_t)(uintptr_t)(r.base + 6 * page)
            && out[12] == -1 && out[13] == 0,
        "unmapped: kind %lld", (long long)out[10]);
  CHECK(out[17] == MPSPROT_SYNC_REPLACED && out[16] == MPSPROT_VIEW_ALIAS, "alias replaced");
  CHECK(strcmp(os_perms((uintptr_t)foreign), "rw") == 0 && foreign[0] == 77, "foreign page untouched");
  unsigned char *record = (unsigned char *)(uintptr_t)mpsprot_region_record(r.slot);
  CHECK((record[3] & 0x40) && (record[6] & 0x40) && (record[1] & 0x20) && !(record[2] & 0x60),
        "marked: %x %x %x", record[3], record[6], record[1]);
  CHECK(sync_all(r, 1, out, 16) == 3, "still reported");
  CHECK(mpsprot_protect(r.slot, 2 * page, 2 * page, 0, &rf) == ENXIO, "protect refused");
  CHECK(strcmp(os_perms((uintptr_t)r.base + 2 * page), "r-") == 0, "nothing changed");
  CHECK(mpsprot_protect(r.slot, 0, 2 * page, 0, &rf) == 0, "the region's own pages still work");
  uint64_t bits[1] = {0};
  int64_t found;
  CHECK(mpsprot_harvest(r.slot, 0, 8, MPSPROT_ACCESS_WRITE, bits, &found) == ENXIO, "harvest refused");
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
  CHECK(strcmp(os_perms((uintptr_t)foreign), "rw") == 0 && foreign[0] == 77, "destroy left it mapped");
  CHECK(strcmp(os_perms((uintptr_t)alias_foreign), "r-") == 0, "and the alias one");
  CHECK(strcmp(os_perms((uintptr_t)r.base), "??") == 0,
        "the region's own pages are gone: %s", os_perms((uintptr_t)r.base));
  munmap(foreign, page);
  munmap(alias_foreign, page);
}

/* The previous handler: the shim passes a fault that is not its own here. */
static sigjmp_buf previous_jump;
static volatile sig_atomic_t previous_calls;
static void previous_handler(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)si;
  (void)uc;
  previous_calls++;
  siglongjmp(previous_jump, 1);
}

/* A fault on a page replaced from outside is not the module's: the handler passes it on
 * (even with a policy that would have opened the page) and changes nothing. */
static void test_fault_on_replaced_page_is_chained(void) {
  struct sigaction sa, old_segv, old_bus;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = previous_handler;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &old_segv);
  sigaction(SIGBUS, &sa, &old_bus);
  CHECK(mpsprot_setup() == 0, "setup");
  struct reg r = make(4 * page);
  CHECK(mpsprot_region_set_policy(r.slot, MPSPROT_POLICY_UNPROTECT, 0) == 0, "policy");
  char *foreign = mmap(r.base + page, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  CHECK(foreign == r.base + page, "MAP_FIXED");
  int64_t out[7 * 4];
  CHECK(sync_all(r, 1, out, 4) == 1 && out[3] == MPSPROT_SYNC_REPLACED, "replaced");
  int64_t chained = mpsprot_counter(MPSPROT_COUNT_CHAINED);
  if (sigsetjmp(previous_jump, 1) == 0)
    *(volatile char *)foreign = 1;
  CHECK(previous_calls == 1, "the previous handler saw the fault: %d", (int)previous_calls);
  CHECK(mpsprot_counter(MPSPROT_COUNT_CHAINED) == chained + 1, "counted as chained");
  CHECK(strcmp(os_perms((uintptr_t)foreign), "--") == 0, "not opened: %s", os_perms((uintptr_t)foreign));
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
  CHECK(strcmp(os_perms((uintptr_t)foreign), "--") == 0, "left mapped by destroy");
  munmap(foreign, page);
  CHECK(mpsprot_uninstall() == 0, "uninstall");
  sigaction(SIGSEGV, &old_segv, NULL);
  sigaction(SIGBUS, &old_bus, NULL);
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_sparse_large(int64_t size, const char *name) {
  int64_t out[4];
  if (mpsprot_region_create(size, out) != 0) {
    printf("test_sync: %s region not created here (address space): skipped\n", name);
    return;
  }
  struct reg r = {(int)out[0], (char *)(uintptr_t)out[1], (char *)(uintptr_t)out[2]};
  int32_t rf;
  int64_t pages = size / page;
  CHECK(mpsprot_protect(r.slot, (pages / 2) * page, 16 * page, MPSPROT_ACCESS_WRITE, &rf) == 0, "protect");
  int64_t runs[7 * 8];
  double t0 = now_s();
  int n = sync_all(r, 1, runs, 8);
  double t1 = now_s();
  CHECK(n == 0, "clean: %d", n);
  CHECK(mprotect(r.base + (pages - 1) * page, page, PROT_NONE) == 0, "tamper");
  double t2 = now_s();
  n = sync_all(r, 1, runs, 8);
  double t3 = now_s();
  CHECK(n == 1 && runs[6] == 1, "one repaired: %d", n);
  printf("test_sync: %s sparse region (%lld pages, 3 mappings): sync %.1f ms clean, %.1f ms with a repair\n",
         name, (long long)pages, (t1 - t0) * 1e3, (t3 - t2) * 1e3);
  CHECK(mpsprot_region_destroy(r.slot) == 0, "destroy");
}

int main(void) {
  page = (long)mpsprot_page_size();
  test_clean_and_repair();
  test_paging();
  test_replaced_and_unmapped();
  test_fault_on_replaced_page_is_chained();
  if (getenv("MPSPROT_TEST_EMULATED") != NULL) {
    /* qemu-user keeps state for every guest page it maps: a 1 TiB region took the emulator
     * to 15 GB and the OOM killer (seen 2026-11-29).  The scan's logic is the same at 4 GiB. */
    printf("test_sync: the 256 GiB and 1 TiB regions are SKIPPED under %s (the emulator's "
           "per-page state); 4 GiB instead\n", getenv("MPSPROT_TEST_EMULATED"));
    test_sparse_large((int64_t)4 << 30, "4 GiB");
  } else {
    test_sparse_large((int64_t)256 << 30, "256 GiB");
    test_sparse_large((int64_t)1 << 40, "1 TiB");
  }
  return check_report("test_sync");
}
