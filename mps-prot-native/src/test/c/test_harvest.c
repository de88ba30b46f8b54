/* test_harvest.c -- mpsprot_harvest (.sol.harvest): what it reports, and that no write is
 * lost while writers keep faulting and a harvester keeps re-protecting and copying. */
#include "check.h"
#include "mpsprot.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long page;

#include "harvest_race.h" /* the writers, the shadow: shared with test_ww_windows.c */

static int record(int slot, int p) {
  return ((unsigned char *)(uintptr_t)mpsprot_region_record(slot))[p];
}

static int dirty(int slot, int p) {
  uint64_t *b = (uint64_t *)(uintptr_t)mpsprot_region_bitmap(slot, 0);
  return (int)((b[p / 64] >> (p % 64)) & 1);
}

/* What one harvest reports, in a small deterministic case. */
static void test_report(void) {
  int64_t out4[4];
  int pages = 130;
  CHECK(mpsprot_region_create(pages * page, out4) == 0, "create");
  int slot = (int)out4[0];
  char *base = (char *)(uintptr_t)out4[1];
  int32_t rf;
  CHECK(mpsprot_region_set_policy(slot, MPSPROT_POLICY_UNPROTECT, 0) == 0, "policy");
  CHECK(mpsprot_protect(slot, 0, pages * page, MPSPROT_ACCESS_WRITE, &rf) == 0, "protect");
  static const int written[] = {3, 5, 6, 63, 64, 65, 129};
  for (unsigned i = 0; i < sizeof written / sizeof *written; i++)
    base[written[i] * page + 1] = 1;
  for (unsigned i = 0; i < sizeof written / sizeof *written; i++)
    CHECK(dirty(slot, written[i]) && record(slot, written[i]) == 0, "page %d open, dirty",
          written[i]);

  /* A sub-range [60, 70): bits are relative to first. */
  uint64_t out[3] = {0, 0, 0};
  int64_t found = -1;
  CHECK(mpsprot_harvest(slot, 60, 10, MPSPROT_ACCESS_WRITE, out, &found) == 0, "harvest");
  CHECK(found == 3 && out[0] == ((1u << 3) | (1u << 4) | (1u << 5)),
        "sub-range: found %ld bits %lx", (long)found, (unsigned long)out[0]);
  CHECK(!dirty(slot, 63) && !dirty(slot, 64) && !dirty(slot, 65) && dirty(slot, 5),
        "only the range's bits cleared");
  CHECK(record(slot, 63) == MPSPROT_ACCESS_WRITE && record(slot, 5) == 0,
        "only the range re-protected");

  memset(out, 0, sizeof out);
  CHECK(mpsprot_harvest(slot, 0, pages, MPSPROT_ACCESS_WRITE, out, &found) == 0, "harvest");
  CHECK(found == 4 && out[0] == ((1ull << 3) | (1ull << 5) | (1ull << 6)) && out[1] == 0
            && out[2] == (1ull << (129 - 128)),
        "whole region: found %ld %lx %lx %lx", (long)found, (unsigned long)out[0],
        (unsigned long)out[1], (unsigned long)out[2]);
  int all = 1;
  for (int p = 0; p < pages; p++)
    all &= record(slot, p) == MPSPROT_ACCESS_WRITE && !dirty(slot, p);
  CHECK(all, "everything protected and clean again");
  memset(out, 0, sizeof out);
  CHECK(mpsprot_harvest(slot, 0, pages, MPSPROT_ACCESS_WRITE, out, &found) == 0 && found == 0,
        "nothing new");
  base[6 * page] = 2; /* faults again */
  CHECK(dirty(slot, 6), "a write after the harvest is seen");

  /* mode_after = READ|WRITE: the page becomes no access. */
  memset(out, 0, sizeof out);
  CHECK(mpsprot_harvest(slot, 0, pages, MPSPROT_ACCESS_ALL, out, &found) == 0 && found == 1,
        "harvest to no access");
  CHECK(record(slot, 6) == MPSPROT_ACCESS_ALL, "record %d", record(slot, 6));
  CHECK(base[6 * page] == 2 && record(slot, 6) == MPSPROT_ACCESS_WRITE,
        "a read then opens it for reading only");

  CHECK(mpsprot_harvest(slot, -1, 1, 2, out, &found) == EINVAL, "first < 0");
  CHECK(mpsprot_harvest(slot, 100, 31, 2, out, &found) == EINVAL, "past the end");
  CHECK(mpsprot_harvest(slot, 0, 1, 4, out, &found) == EINVAL, "bad mode");
  CHECK(mpsprot_harvest(-1, 0, 1, 2, out, &found) == EINVAL, "bad slot");
  CHECK(mpsprot_region_destroy(slot) == 0, "destroy");
}

static int touched(int slot, int p) {
  uint64_t *b = (uint64_t *)(uintptr_t)mpsprot_region_bitmap(slot, 1);
  return (int)((b[p / 64] >> (p % 64)) & 1);
}

/* mpsprot_harvest_touched (.sol.harvest.touched): reports the pages a read opened, clears
 * their touched bits, re-protects them, and leaves the dirty bits alone; a read after it
 * faults and is seen again (a read barrier's next cycle). */
static void test_report_touched(void) {
  int64_t out4[4];
  int pages = 70;
  CHECK(mpsprot_region_create(pages * page, out4) == 0, "create");
  int slot = (int)out4[0];
  volatile char *base = (volatile char *)(uintptr_t)out4[1];
  int32_t rf;
  CHECK(mpsprot_region_set_policy(slot, MPSPROT_POLICY_UNPROTECT, 0) == 0, "policy");
  CHECK(mpsprot_protect(slot, 0, pages * page, MPSPROT_ACCESS_ALL, &rf) == 0, "protect");
  static const int read[] = {2, 3, 64, 69};
  for (unsigned i = 0; i < sizeof read / sizeof *read; i++)
    (void)base[read[i] * page];
  base[3 * page] = 1; /* page 3: read, then written (dirty and touched) */
  base[10 * page] = 1; /* page 10: written only (a write sets no touched bit) */
  for (unsigned i = 0; i < sizeof read / sizeof *read; i++)
    CHECK(touched(slot, read[i]), "page %d touched", read[i]);
  CHECK(!touched(slot, 10) && dirty(slot, 10) && dirty(slot, 3), "dirty bits as written");

  uint64_t out[2] = {0, 0};
  int64_t found = -1;
  CHECK(mpsprot_harvest_touched(slot, 0, pages, MPSPROT_ACCESS_ALL, out, &found) == 0,
        "harvest touched");
  CHECK(found == 4 && out[0] == ((1ull << 2) | (1ull << 3)) && out[1] == ((1ull << 0) | (1ull << 5)),
        "found %ld bits %lx %lx", (long)found, (unsigned long)out[0], (unsigned long)out[1]);
  int clean = 1;
  for (int p = 0; p < pages; p++)
    clean &= !touched(slot, p);
  CHECK(clean, "every touched bit cleared");
  CHECK(record(slot, 2) == MPSPROT_ACCESS_ALL && record(slot, 3) == MPSPROT_ACCESS_ALL
            && record(slot, 64) == MPSPROT_ACCESS_ALL && record(slot, 10) == 0,
        "the touched pages re-protected, the written-only page left open");
  CHECK(dirty(slot, 3) && dirty(slot, 10), "the dirty bits are not the touched harvest's");

  memset(out, 0, sizeof out);
  CHECK(mpsprot_harvest_touched(slot, 0, pages, MPSPROT_ACCESS_ALL, out, &found) == 0
            && found == 0 && out[0] == 0 && out[1] == 0,
        "nothing new");
  (void)base[64 * page]; /* faults again: the next cycle sees it */
  CHECK(touched(slot, 64) && record(slot, 64) == MPSPROT_ACCESS_WRITE, "a read after it is seen");
  memset(out, 0, sizeof out);
  CHECK(mpsprot_harvest_touched(slot, 60, 10, MPSPROT_ACCESS_ALL, out, &found) == 0 && found == 1
            && out[0] == (1ull << 4),
        "sub-range: bits relative to first, found %ld %lx", (long)found, (unsigned long)out[0]);

  CHECK(mpsprot_harvest_touched(slot, -1, 1, 2, out, &found) == EINVAL, "first < 0");
  CHECK(mpsprot_harvest_touched(slot, 60, 11, 2, out, &found) == EINVAL, "past the end");
  CHECK(mpsprot_harvest_touched(slot, 0, 1, 4, out, &found) == EINVAL, "bad mode");
  CHECK(mpsprot_harvest_touched(-1, 0, 1, 2, out, &found) == EINVAL, "bad slot");
  CHECK(mpsprot_harvest_touched(slot, 0, 1, 2, NULL, &found) == EINVAL, "out NULL");
  CHECK(mpsprot_region_destroy(slot) == 0, "destroy");
}

/* ---- No lost writes ---- */

static int hslot;
static char *hbase, *halias;
static _Atomic int64_t harvests;
static int64_t reported;

static void *writer(void *arg) {
  race_writes(hbase, (uint64_t)(uintptr_t)arg);
  return NULL;
}

static int harvest_once(void) {
  uint64_t out[PAGES / 64] = {0};
  int64_t found = 0;
  int err = mpsprot_harvest(hslot, 0, PAGES, MPSPROT_ACCESS_WRITE, out, &found);
  if (err != 0)
    return err;
  atomic_fetch_add(&harvests, 1);
  reported += found;
  shadow_copy(out, halias);
  return 0;
}

static void *harvester(void *arg) {
  (void)arg;
  int err = 0;
  while (err == 0 && atomic_load(&writers_done) < WRITERS) {
    err = harvest_once();
    /* A pause bounds the faults (at most one per page per harvest) and so the run time;
     * the writers' bursts fall at every phase of it. */
    struct timespec t = {0, 500000};
    nanosleep(&t, NULL);
  }
  return (void *)(intptr_t)err;
}

static void test_no_lost_writes(void) {
  int64_t out4[4];
  CHECK(mpsprot_region_create(PAGES * page, out4) == 0, "create");
  hslot = (int)out4[0];
  hbase = (char *)(uintptr_t)out4[1];
  halias = (char *)(uintptr_t)out4[2];
  shadow = calloc(PAGES, (size_t)page);
  int32_t rf;
  CHECK(mpsprot_region_set_policy(hslot, MPSPROT_POLICY_UNPROTECT, 0) == 0, "policy");
  CHECK(mpsprot_protect(hslot, 0, PAGES * page, MPSPROT_ACCESS_WRITE, &rf) == 0, "protect");
  int64_t faults0 = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  int64_t spurious0 = mpsprot_counter(MPSPROT_COUNT_SPURIOUS);

  pthread_t w[WRITERS], h;
  pthread_create(&h, NULL, harvester, NULL);
  for (int i = 0; i < WRITERS; i++)
    pthread_create(&w[i], NULL, writer, (void *)(uintptr_t)(i + 1));
  for (int i = 0; i < WRITERS; i++)
    pthread_join(w[i], NULL);
  void *herr;
  pthread_join(h, &herr);
  CHECK(herr == NULL, "harvest failed: %s", strerror((int)(intptr_t)herr));
  CHECK(harvest_once() == 0, "one more harvest (the harvester may have stopped early)");
  CHECK(harvest_once() == 0, "the final harvest");

  check_shadow(hbase);
  int clean = 1;
  for (int p = 0; p < PAGES; p++)
    clean &= record(hslot, p) == MPSPROT_ACCESS_WRITE && !dirty(hslot, p);
  CHECK(clean, "every page re-protected and clean after the final harvest");
  int64_t faults = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - faults0;
  CHECK(reported == faults, "every opening reported once: %ld reports, %ld faults",
        (long)reported, (long)faults);
  printf("test_harvest: note: %ld harvests, %ld pages reported, %ld write faults, %ld "
         "spurious\n",
         (long)harvests, (long)reported, (long)faults,
         (long)(mpsprot_counter(MPSPROT_COUNT_SPURIOUS) - spurious0));
  CHECK(harvests >= 100 && faults > 1000, "the race actually ran");
  CHECK(mpsprot_region_destroy(hslot) == 0, "destroy");
  free(shadow);
}

/* ---- No lost reads: the touched harvest under racing readers ---- */

static _Atomic int readers_done;
static int64_t treported;

static void *reader(void *arg) {
  uint64_t x = 0x2545f4914f6cdd1dull * ((uint64_t)(uintptr_t)arg + 1);
  size_t words = (size_t)page / 8;
  uint64_t sum = 0;
  for (uint64_t i = 1; i <= WRITES; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t p = (size_t)(x % PAGES), w = (size_t)((x >> 32) % words);
    sum += ((volatile uint64_t *)(hbase + p * (size_t)page))[w];
    if (i % BURST == 0) {
      struct timespec t = {0, 300000};
      nanosleep(&t, NULL);
    }
  }
  atomic_fetch_add(&readers_done, 1);
  return (void *)(uintptr_t)(sum & 1);
}

static int harvest_touched_once(void) {
  uint64_t out[PAGES / 64] = {0};
  int64_t found = 0;
  int err = mpsprot_harvest_touched(hslot, 0, PAGES, MPSPROT_ACCESS_ALL, out, &found);
  if (err != 0)
    return err;
  atomic_fetch_add(&harvests, 1);
  int64_t bits = 0;
  for (int w = 0; w < PAGES / 64; w++)
    bits += __builtin_popcountll(out[w]);
  if (bits != found)
    return EPROTO;
  treported += found;
  return 0;
}

static void *touched_harvester(void *arg) {
  (void)arg;
  int err = 0;
  while (err == 0 && atomic_load(&readers_done) < WRITERS) {
    err = harvest_touched_once();
    struct timespec t = {0, 500000};
    nanosleep(&t, NULL);
  }
  return (void *)(intptr_t)err;
}

/* Every read fault opens its page once and sets its touched bit; every touched harvest
 * reports and closes each page once: so with no report lost or doubled, the pages
 * reported equal the pages the handler opened. */
static void test_no_lost_reads(void) {
  int64_t out4[4];
  CHECK(mpsprot_region_create(PAGES * page, out4) == 0, "create");
  hslot = (int)out4[0];
  hbase = (char *)(uintptr_t)out4[1];
  int32_t rf;
  CHECK(mpsprot_region_set_policy(hslot, MPSPROT_POLICY_UNPROTECT, 0) == 0, "policy");
  CHECK(mpsprot_protect(hslot, 0, PAGES * page, MPSPROT_ACCESS_ALL, &rf) == 0, "protect");
  atomic_store(&harvests, 0);
  int64_t opened0 = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED);
  int64_t reads0 = mpsprot_counter(MPSPROT_COUNT_FAULTS_READ);
  pthread_t r[WRITERS], h;
  pthread_create(&h, NULL, touched_harvester, NULL);
  for (int i = 0; i < WRITERS; i++)
    pthread_create(&r[i], NULL, reader, (void *)(uintptr_t)(i + 1));
  for (int i = 0; i < WRITERS; i++)
    pthread_join(r[i], NULL);
  void *herr;
  pthread_join(h, &herr);
  CHECK(herr == NULL, "touched harvest failed: %s", strerror((int)(intptr_t)herr));
  CHECK(harvest_touched_once() == 0, "the final touched harvest");
  int clean = 1;
  for (int p = 0; p < PAGES; p++)
    clean &= record(hslot, p) == MPSPROT_ACCESS_ALL && !touched(hslot, p) && !dirty(hslot, p);
  CHECK(clean, "every page re-protected, untouched and clean after the final harvest");
  int64_t opened = mpsprot_counter(MPSPROT_COUNT_UNPROTECTED) - opened0;
  CHECK(treported == opened, "every read opening reported once: %ld reports, %ld openings",
        (long)treported, (long)opened);
  printf("test_harvest: note: %ld touched harvests, %ld pages reported, %ld read faults\n",
         (long)harvests, (long)treported,
         (long)(mpsprot_counter(MPSPROT_COUNT_FAULTS_READ) - reads0));
  CHECK(harvests >= 100 && opened > 1000, "the read race actually ran");
  CHECK(mpsprot_region_destroy(hslot) == 0, "destroy");
}

int main(void) {
  alarm(30);
  page = (long)mpsprot_page_size();
  CHECK(mpsprot_setup() == 0, "setup");
  test_report();
  test_report_touched();
  test_no_lost_writes();
  test_no_lost_reads();
  return check_report("test_harvest");
}
