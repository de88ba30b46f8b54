/* test_prot_windows.c -- the shim's regions and ProtSet on Windows (prot_windows.c),
 * checked against VirtualQuery and against real accesses (a probe handler first in
 * line), as test_prot.c checks them against /proc/self/maps on Linux.  Also: the page
 * size and the views' placement, a failed creation leaves nothing behind, the
 * thread-local mutator depth (TlsAlloc slots) is per thread, and mpsprot_query (the
 * VirtualQuery answer WindowsProtOs.mappings() builds ProtSync's view from). */
#include "check.h"
#include "mpsprot.h"
#include "testwin.h"

#include <errno.h>

static long page;

static const char *expected_perms(int mode) {
  return (mode & MPSPROT_ACCESS_READ) ? "--" : (mode & MPSPROT_ACCESS_WRITE) ? "r-" : "rw";
}

/* No page of [p, p + len) may ever be executable (.rule.noexec). */
static int never_exec(const char *p, size_t len) {
  for (size_t off = 0; off < len; off += (size_t)page) {
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery(p + off, &mbi, sizeof mbi) != sizeof mbi)
      return 0;
    if (mbi.Protect & (PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE
                       | PAGE_EXECUTE_WRITECOPY))
      return 0;
  }
  return 1;
}

/* The bits mpsprot_query should report for a page protected with `mode`. */
static int64_t query_expected(int mode) {
  return (mode & MPSPROT_ACCESS_READ)    ? 0
         : (mode & MPSPROT_ACCESS_WRITE) ? MPSPROT_QUERY_READ
                                         : MPSPROT_QUERY_READ | MPSPROT_QUERY_WRITE;
}

/* mpsprot_query after ProtSet of pages 1 and 2 of a 5-page region with `mode`: the
 * protected run, the pages around it, and the alias, each against VirtualQuery. */
static void check_query(char *base, char *alias, int mode) {
  int64_t q[4] = {-1, -1, -1, -1};
  CHECK(mpsprot_query((int64_t)(uintptr_t)(base + 2 * page + 17), q) == 0, "query, mode %d",
        mode);
  MEMORY_BASIC_INFORMATION mbi;
  CHECK(VirtualQuery(base + 2 * page, &mbi, sizeof mbi) == sizeof mbi, "VirtualQuery");
  CHECK(q[0] == (int64_t)(uintptr_t)mbi.BaseAddress && q[1] == (int64_t)mbi.RegionSize,
        "query run [%#llx, +%lld) = VirtualQuery's", (long long)q[0], (long long)q[1]);
  CHECK(q[2] == 1 && q[3] == query_expected(mode), "mode %d: committed %lld, bits %lld", mode,
        (long long)q[2], (long long)q[3]);
  CHECK(q[0] == (int64_t)(uintptr_t)(base + 2 * page), "the run starts at the queried page");
  if (mode != 0) {
    CHECK(q[1] == page, "mode %d: the run ends with the protected pages", mode);
    CHECK(mpsprot_query((int64_t)(uintptr_t)(base + page), q) == 0 && q[1] == 2 * page
              && q[3] == query_expected(mode),
          "mode %d: from the first protected page the run is exactly the protected pages",
          mode);
  }
  CHECK(mpsprot_query((int64_t)(uintptr_t)base, q) == 0 && q[2] == 1
            && q[3] == (MPSPROT_QUERY_READ | MPSPROT_QUERY_WRITE) && q[0] == (int64_t)(uintptr_t)base,
        "page below: rw, bits %lld", (long long)q[3]);
  if (mode != 0)
    CHECK(q[1] == page, "page below is a run of its own: %lld", (long long)q[1]);
  CHECK(mpsprot_query((int64_t)(uintptr_t)(base + 3 * page), q) == 0 && q[2] == 1
            && q[3] == (MPSPROT_QUERY_READ | MPSPROT_QUERY_WRITE),
        "page above: rw, bits %lld", (long long)q[3]);
  for (int p = 0; p < 5; p++) {
    CHECK(mpsprot_query((int64_t)(uintptr_t)(alias + (size_t)p * page), q) == 0 && q[2] == 1
              && q[3] == (MPSPROT_QUERY_READ | MPSPROT_QUERY_WRITE)
              && q[0] == (int64_t)(uintptr_t)(alias + (size_t)p * page)
              && q[0] + q[1] >= (int64_t)(uintptr_t)(alias + 5 * (size_t)page),
          "alias page %d: rw to the end of the view, mode %d", p, mode);
  }
}

static void test_query_outside(void) {
  int64_t q[4] = {-1, -1, -1, -1};
  CHECK(mpsprot_query(0, NULL) == EINVAL, "no out array");
  /* A free block: reserve 64 KiB, learn its address, release it. */
  char *gone = VirtualAlloc(NULL, 65536, MEM_RESERVE, PAGE_NOACCESS);
  CHECK(gone != NULL, "VirtualAlloc");
  CHECK(mpsprot_query((int64_t)(uintptr_t)gone, q) == 0 && q[2] == 0 && q[3] == 0
            && q[0] == (int64_t)(uintptr_t)gone && q[1] == 65536,
        "reserved, not committed: committed %lld, bits %lld, size %lld", (long long)q[2],
        (long long)q[3], (long long)q[1]);
  VirtualFree(gone, 0, MEM_RELEASE);
  q[2] = q[3] = -1;
  CHECK(mpsprot_query((int64_t)(uintptr_t)gone, q) == 0 && q[2] == 0 && q[3] == 0
            && q[1] >= 65536,
        "unmapped: committed %lld, bits %lld", (long long)q[2], (long long)q[3]);
  SetLastError(4321);
  CHECK(mpsprot_query((int64_t)1 << 62, q) == EINVAL, "above the user address space: EINVAL");
  CHECK(GetLastError() == 4321, "query keeps the caller's last error");
  CHECK(mpsprot_win_last_error() == ERROR_INVALID_PARAMETER, "raw error %lu",
        (unsigned long)mpsprot_win_last_error());
  /* Executable code: this program's own text. */
  CHECK(mpsprot_query((int64_t)(uintptr_t)(void *)&test_query_outside, q) == 0 && q[2] == 1
            && (q[3] & MPSPROT_QUERY_EXEC) && (q[3] & MPSPROT_QUERY_READ),
        "code is r-x: bits %lld", (long long)q[3]);
}

static void test_create_and_views(void) {
  int64_t out[4];
  CHECK(mpsprot_region_create(0, out) == EINVAL, "size 0");
  CHECK(mpsprot_region_create(page + 1, out) == EINVAL, "unaligned size");
  CHECK(mpsprot_region_create(-page, out) == EINVAL, "negative size");
  int err = mpsprot_region_create(5 * page, out); /* not a multiple of 64 KiB */
  CHECK(err == 0, "create: %s", strerror(err));
  int slot = (int)out[0];
  char *base = (char *)(uintptr_t)out[1], *alias = (char *)(uintptr_t)out[2];
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  CHECK((uintptr_t)base % si.dwAllocationGranularity == 0
            && (uintptr_t)alias % si.dwAllocationGranularity == 0,
        "views at the allocation granularity (%lu)", (unsigned long)si.dwAllocationGranularity);
  CHECK(mpsprot_region_count() == 1, "count %d", mpsprot_region_count());
  CHECK(mpsprot_region_find((int64_t)(uintptr_t)base) == slot, "find base");
  CHECK(mpsprot_region_find((int64_t)(uintptr_t)(base + 5 * page - 1)) == slot, "last byte");
  CHECK(mpsprot_region_find((int64_t)(uintptr_t)(base + 5 * page)) == -1, "limit exclusive");
  CHECK(mpsprot_region_find((int64_t)(uintptr_t)alias) == -1, "the alias is not the mutator's");
  CHECK(base[3] == 0 && alias[4 * page] == 0, "zeroed");
  alias[page + 5] = 42;
  CHECK(base[page + 5] == 42, "one memory, two views");
  CHECK(never_exec(base, 5 * (size_t)page) && never_exec(alias, 5 * (size_t)page),
        "nothing executable");

  int32_t restore_failed;
  for (int mode = 0; mode <= MPSPROT_ACCESS_ALL; mode++) {
    CHECK(mpsprot_protect(slot, page, 2 * page, mode, &restore_failed) == 0, "protect %d", mode);
    CHECK(strcmp(tw_perms(base + page), expected_perms(mode)) == 0
              && strcmp(tw_perms(base + 2 * page), expected_perms(mode)) == 0,
          "mode %d: VirtualQuery says %s", mode, tw_perms(base + page));
    CHECK(strcmp(tw_perms(base), "rw") == 0, "page below untouched");
    CHECK(strcmp(tw_perms(base + 3 * page), "rw") == 0, "limit exclusive");
    CHECK(tw_faults(base + page, 0, 0) == ((mode & MPSPROT_ACCESS_READ) != 0), "read, mode %d",
          mode);
    CHECK(tw_faults(base + 2 * page, 1, alias[2 * page]) == (mode != 0), "write, mode %d", mode);
    if (mode != 0)
      CHECK(tw_probe_kind == 1 && tw_probe_addr == (ULONG_PTR)(uintptr_t)(base + 2 * page),
            "the violation says write at the address: kind %lu",
            (unsigned long)tw_probe_kind);
    CHECK(!tw_faults(alias + page, 1, 7), "alias stays writable, mode %d", mode);
    CHECK((mode & MPSPROT_ACCESS_READ) || base[page] == 7, "the alias write is seen");
    CHECK(never_exec(base, 5 * (size_t)page), "nothing executable, mode %d", mode);
    check_query(base, alias, mode);
    unsigned char *record = (unsigned char *)(uintptr_t)mpsprot_region_record(slot);
    CHECK(record[0] == 0 && record[1] == mode && record[2] == mode && record[3] == 0,
          "record %d %d %d %d", record[0], record[1], record[2], record[3]);
  }
  CHECK(mpsprot_protect(slot, 1, page, 0, &restore_failed) == EINVAL, "unaligned offset");
  CHECK(mpsprot_protect(slot, 0, 6 * page, 0, &restore_failed) == EINVAL, "past the limit");
  CHECK(mpsprot_protect(slot, 0, page, 4, &restore_failed) == EINVAL, "mode outside the set");
  CHECK(mpsprot_region_alias_reset(slot) == 0, "alias reset");
  CHECK(mpsprot_region_destroy(slot) == 0, "destroy");
  CHECK(mpsprot_region_destroy(slot) == EINVAL, "destroy twice");
  CHECK(mpsprot_region_find((int64_t)(uintptr_t)base) == -1, "unregistered");
  MEMORY_BASIC_INFORMATION mbi;
  CHECK(VirtualQuery(base, &mbi, sizeof mbi) == sizeof mbi && mbi.State == MEM_FREE,
        "the mutator's view is unmapped");
  int64_t q[4] = {-1, -1, -1, -1};
  CHECK(mpsprot_query((int64_t)(uintptr_t)(base + page), q) == 0 && q[2] == 0 && q[3] == 0,
        "the destroyed view: not committed (%lld), no access (%lld)", (long long)q[2],
        (long long)q[3]);
  CHECK(mpsprot_protect(slot, 0, page, 0, &restore_failed) == EINVAL, "protect after destroy");
  CHECK(mpsprot_region_count() == 0, "count after destroy");
}

/* Many regions and a long run of alternating protections: Windows has no map count,
 * but every page's protection must still be what was asked. */
static void test_alternating(void) {
  int64_t out[4];
  int pages = 4096;
  CHECK(mpsprot_region_create(pages * page, out) == 0, "create");
  int slot = (int)out[0];
  char *base = (char *)(uintptr_t)out[1];
  int32_t rf;
  int err = 0;
  for (int i = 0; i < pages && err == 0; i += 2)
    err = mpsprot_protect(slot, (int64_t)i * page, page, MPSPROT_ACCESS_WRITE, &rf);
  CHECK(err == 0, "alternating protections: %s", strerror(err));
  int bad = 0;
  for (int i = 0; i < pages; i++)
    bad += strcmp(tw_perms(base + (size_t)i * page), i % 2 ? "rw" : "r-") != 0;
  CHECK(bad == 0, "%d pages differ from the request", bad);
  CHECK(mpsprot_protect(slot, 0, pages * page, MPSPROT_ACCESS_ALL, &rf) == 0, "one call");
  bad = 0;
  for (int i = 0; i < pages; i++)
    bad += strcmp(tw_perms(base + (size_t)i * page), "--") != 0;
  CHECK(bad == 0, "%d pages are not no-access", bad);
  CHECK(mpsprot_region_destroy(slot) == 0, "destroy");
}

/* A creation the OS refuses (more than the address space or the commit limit) fails
 * with an errno, the stage, the raw Windows error, and leaves nothing behind. */
static void test_create_fails(void) {
  int64_t out[4];
  /* 128 TiB, the whole user address space, is more pages than a region may have: refused
   * by the argument check before any system call (design .sol.alias.limits). */
  CHECK(mpsprot_region_create((int64_t)1 << 47, out) == EINVAL && out[3] == MPSPROT_STAGE_NONE,
        "128 TiB: EINVAL at the argument check, stage %ld", (long)out[3]);
  /* The most pages a region may have (8 TiB less a page): more than the commit limit
   * (SEC_COMMIT charges the whole section at once), so the OS refuses it. */
  int64_t huge = MPSPROT_MAX_REGION_PAGES * page;
  int err = mpsprot_region_create(huge, out);
  CHECK(err != 0, "an 8 TiB committed region cannot be created");
  CHECK(out[3] == MPSPROT_STAGE_MEMFD || out[3] == MPSPROT_STAGE_MAP_MUTATOR
            || out[3] == MPSPROT_STAGE_MAP_ALIAS || out[3] == MPSPROT_STAGE_RECORD,
        "stage %ld", (long)out[3]);
  CHECK(out[0] == -1 && out[1] == -1 && out[2] == -1, "no slot, no views");
  CHECK(mpsprot_win_last_error() != 0, "the raw Windows error is kept");
  printf("test_prot_windows: note: 8 TiB region: %s (errno %d) at stage %ld, Windows error "
         "%lu\n",
         strerror(err), err, (long)out[3], (unsigned long)mpsprot_win_last_error());
  CHECK(mpsprot_region_count() == 0, "nothing live");
}

static DWORD WINAPI depth_thread(void *arg) {
  (void)arg;
  int before = mpsprot_mutator_depth();
  mpsprot_mutator_enter();
  int during = mpsprot_mutator_depth();
  mpsprot_mutator_leave();
  return (DWORD)(before == 0 && during == 1 && mpsprot_mutator_depth() == 0);
}

/* The guard page after each view (design .sol.guard): no access, and a one-byte overrun
 * faults; the views' own last bytes stay writable. */
static void test_guards(void) {
  int64_t out[4];
  CHECK(mpsprot_region_create(3 * page, out) == 0, "create");
  char *base = (char *)(uintptr_t)out[1], *alias = (char *)(uintptr_t)out[2];
  CHECK(strcmp(tw_perms(base + 3 * page), "--") == 0, "after the view: %s", tw_perms(base + 3 * page));
  CHECK(strcmp(tw_perms(alias + 3 * page), "--") == 0, "after the alias: %s", tw_perms(alias + 3 * page));
  CHECK(tw_faults(base + 3 * page, 1, 1), "an overrun of the view faults");
  CHECK(tw_faults(alias + 3 * page, 1, 1), "an overrun of the alias faults");
  CHECK(!tw_faults(base + 3 * page - 1, 1, 1), "the view's last byte is writable");
  CHECK(mpsprot_region_destroy((int)out[0]) == 0, "destroy");
}

int main(void) {
  page = (long)mpsprot_page_size();
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  CHECK(page == (long)si.dwPageSize && page >= 4096 && (page & (page - 1)) == 0,
        "page size %ld", page);
  CHECK(mpsprot_setup() == 0 && mpsprot_setup() == 0, "setup is idempotent");
  CHECK(mpsprot_handler_installed() == 1, "installed");
  CHECK(mpsprot_mutator_depth() == 0, "not a mutator");
  mpsprot_mutator_enter();
  mpsprot_mutator_enter();
  CHECK(mpsprot_mutator_depth() == 2, "nested mutator depth");
  tw_thread t;
  tw_start(&t, depth_thread, NULL);
  CHECK(tw_join(&t) == 1, "another thread has its own depth");
  CHECK(mpsprot_mutator_depth() == 2, "ours unchanged");
  SetLastError(1234);
  mpsprot_mutator_leave();
  CHECK(GetLastError() == 1234, "the API keeps the caller's last error");
  mpsprot_mutator_leave();
  mpsprot_mutator_leave();
  CHECK(mpsprot_mutator_depth() == 0, "left (never below 0)");
  test_create_and_views();
  test_alternating();
  test_create_fails();
  test_guards();
  test_query_outside();
  int64_t d = 99;
  CHECK(mpsprot_probe_uffd_wp_async(&d) == ENOSYS && d == 0, "no userfaultfd on Windows");
  CHECK(mpsprot_probe_soft_dirty(&d) == ENOSYS, "no soft-dirty on Windows");
  CHECK(mpsprot_uffd_attach(0) == ENOSYS, "uffd attach: ENOSYS");
  return check_report("test_prot_windows");
}
