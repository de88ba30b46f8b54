/* test_ww_windows.c -- dirty-page tracking with write watch (dirty_ww_windows.c): what a
 * harvest reports (sub-ranges, bits relative to first, more pages than one
 * GetWriteWatch call takes), reset, the argument checks, and that no write is lost
 * while writer threads keep writing and a harvester keeps harvesting and copying (the
 * counterpart of test_harvest.c's race, with the OS doing the tracking). */
#include "check.h"
#include "mpsprot.h"
#include "testwin.h"

#include <errno.h>
#include <stdatomic.h>

static long page;

#include "harvest_race.h" /* the writers, the shadow: shared with test_harvest.c */

static int bitset(const uint64_t *out, int k) { return (int)((out[k / 64] >> (k % 64)) & 1); }

static void test_report(void) {
  int64_t base = 0;
  CHECK(mpsprot_ww_alloc(0, &base) == EINVAL && base == 0, "size 0");
  CHECK(mpsprot_ww_alloc(page + 1, &base) == EINVAL, "unaligned size");
  CHECK(mpsprot_ww_alloc(page, NULL) == EINVAL, "no out pointer");
  int pages = 130;
  int err = mpsprot_ww_alloc(pages * page, &base);
  CHECK(err == 0 && base != 0, "alloc: %s", strerror(err));
  if (err != 0)
    return;
  char *p = (char *)(uintptr_t)base;
  CHECK(strcmp(tw_perms(p), "rw") == 0 && p[0] == 0 && p[pages * page - 1] == 0,
        "zeroed and read-write");
  uint64_t out[3] = {0, 0, 0};
  int64_t found = -1;
  CHECK(mpsprot_ww_harvest(base, 0, pages, out, &found) == 0 && found == 0,
        "nothing written yet (reading is not writing): found %lld", (long long)found);

  static const int written[] = {3, 5, 6, 63, 64, 65, 129};
  for (unsigned i = 0; i < sizeof written / sizeof *written; i++)
    ((volatile char *)p)[written[i] * page + 1] = 1;

  /* A sub-range [60, 70): bits are relative to first. */
  CHECK(mpsprot_ww_harvest(base, 60, 10, out, &found) == 0, "harvest");
  CHECK(found == 3 && out[0] == ((1u << 3) | (1u << 4) | (1u << 5)),
        "sub-range: found %lld bits %llx", (long long)found, (unsigned long long)out[0]);
  memset(out, 0, sizeof out);
  CHECK(mpsprot_ww_harvest(base, 0, pages, out, &found) == 0, "harvest");
  CHECK(found == 4 && out[0] == ((1ull << 3) | (1ull << 5) | (1ull << 6)) && out[1] == 0
            && out[2] == (1ull << (129 - 128)),
        "whole: found %lld %llx %llx %llx: the sub-range's pages were reset", (long long)found,
        (unsigned long long)out[0], (unsigned long long)out[1], (unsigned long long)out[2]);
  memset(out, 0, sizeof out);
  CHECK(mpsprot_ww_harvest(base, 0, pages, out, &found) == 0 && found == 0, "nothing new");
  ((volatile char *)p)[6 * page] = 2;
  memset(out, 0, sizeof out);
  CHECK(mpsprot_ww_harvest(base, 0, pages, out, &found) == 0 && found == 1 && bitset(out, 6),
        "a write after the harvest is seen");

  /* Reset forgets. */
  ((volatile char *)p)[10 * page] = 3;
  ((volatile char *)p)[11 * page] = 3;
  CHECK(mpsprot_ww_reset(base, 10, 1) == 0, "reset page 10");
  memset(out, 0, sizeof out);
  CHECK(mpsprot_ww_harvest(base, 0, pages, out, &found) == 0 && found == 1 && bitset(out, 11),
        "only page 11 reported after resetting page 10: found %lld", (long long)found);

  CHECK(mpsprot_ww_harvest(base, -1, 1, out, &found) == EINVAL, "first < 0");
  CHECK(mpsprot_ww_harvest(base, 100, 31, out, &found) == EINVAL, "past the end");
  CHECK(mpsprot_ww_harvest(base + page, 0, 1, out, &found) == EINVAL, "not an allocation");
  CHECK(mpsprot_ww_harvest(base, 0, 1, NULL, &found) == EINVAL, "no out");
  CHECK(mpsprot_ww_reset(base, 0, pages + 1) == EINVAL, "reset past the end");
  CHECK(mpsprot_ww_free(base) == 0, "free");
  CHECK(mpsprot_ww_free(base) == EINVAL, "free twice");
  CHECK(mpsprot_ww_harvest(base, 0, 1, out, &found) == EINVAL, "harvest after free");
  CHECK(mpsprot_ww_free(12345) == EINVAL, "free of a stranger");
}

/* More pages than one GetWriteWatch call asks about (512). */
static void test_chunks(void) {
  int pages = 2000;
  int64_t base;
  CHECK(mpsprot_ww_alloc(pages * page, &base) == 0, "alloc");
  char *p = (char *)(uintptr_t)base;
  for (int i = 0; i < pages; i += 3)
    ((volatile char *)p)[(size_t)i * page + 7] = 1;
  static uint64_t out[(2000 + 63) / 64];
  memset(out, 0, sizeof out);
  int64_t found = 0;
  CHECK(mpsprot_ww_harvest(base, 1, pages - 1, out, &found) == 0, "harvest");
  int ok = 1, want = 0;
  for (int i = 1; i < pages; i++) {
    ok &= bitset(out, i - 1) == (i % 3 == 0);
    want += i % 3 == 0;
  }
  CHECK(ok && found == want, "every third page of pages 1..1999, found %lld of %d",
        (long long)found, want);
  CHECK(mpsprot_ww_free(base) == 0, "free");
}

/* ---- No lost writes ---- */

static char *wbase;
static int64_t harvests, reported;

static DWORD WINAPI writer(void *arg) {
  race_writes(wbase, (uint64_t)(uintptr_t)arg);
  return 0;
}

static int harvest_once(void) {
  uint64_t out[PAGES / 64] = {0};
  int64_t found = 0;
  int err = mpsprot_ww_harvest((int64_t)(uintptr_t)wbase, 0, PAGES, out, &found);
  if (err != 0)
    return err;
  harvests++;
  reported += found;
  /* Copy after the reset: a write that lands during the copy marks the page again. */
  shadow_copy(out, wbase);
  return 0;
}

static void test_no_lost_writes(void) {
  int64_t base;
  CHECK(mpsprot_ww_alloc(PAGES * page, &base) == 0, "alloc");
  wbase = (char *)(uintptr_t)base;
  shadow = calloc(PAGES, (size_t)page);
  tw_thread w[WRITERS];
  for (int i = 0; i < WRITERS; i++)
    tw_start(&w[i], writer, (void *)(uintptr_t)(i + 1));
  int err = 0;
  while (err == 0 && atomic_load(&writers_done) < WRITERS) {
    err = harvest_once();
    Sleep(0);
  }
  for (int i = 0; i < WRITERS; i++)
    tw_join(&w[i]);
  CHECK(err == 0, "harvest failed: %s", strerror(err));
  CHECK(harvest_once() == 0, "the final harvest");
  check_shadow(wbase);
  uint64_t out[1] = {0};
  int64_t found = -1;
  CHECK(mpsprot_ww_harvest(base, 0, PAGES, out, &found) == 0 && found == 0,
        "clean after the final harvest");
  printf("test_ww_windows: note: %lld harvests, %lld pages reported, %d writes\n",
         (long long)harvests, (long long)reported, WRITERS * WRITES);
  CHECK(harvests >= 10 && reported > 100, "the race actually ran");
  CHECK(mpsprot_ww_free(base) == 0, "free");
  free(shadow);
}

int main(void) {
  tw_watchdog(120);
  page = (long)mpsprot_page_size();
  test_report();
  test_chunks();
  test_no_lost_writes();
  return check_report("test_ww_windows");
}
