/* harvest_race.h -- the no-lost-writes race shared by test_harvest.c (mpsprot_harvest:
 * the module's write faults track the dirty pages) and test_ww_windows.c (write watch:
 * the OS tracks them).  WRITERS threads each make WRITES pseudo-random stores to PAGES
 * pages, in bursts of BURST with a pause between, while a harvester copies every page a
 * harvest reports into a shadow; after the final harvest the shadow must equal the
 * memory.  The per-OS part is the pause (#ifdef _WIN32).  Include it once per program,
 * after check.h; the program defines `page` before including it. */
#ifndef MPSPROT_HARVEST_RACE_H
#define MPSPROT_HARVEST_RACE_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#ifndef _WIN32
#include <time.h>
#endif

#define PAGES 64
#define WRITERS 3
#define WRITES 200000
#define BURST 500

static unsigned char *shadow;
static _Atomic int writers_done;

/* One writer's stores to base (its id from 1): a value naming the writer and the store,
 * at a pseudo-random word of a pseudo-random page.  Bursts of BURST writes with pauses,
 * so that the writes interleave with many harvests instead of finishing before the
 * first. */
static void race_writes(char *base, uint64_t id) {
  uint64_t x = 0x9e3779b97f4a7c15ull * (id + 1);
  size_t words = (size_t)page / 8;
  for (uint64_t i = 1; i <= WRITES; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t p = (size_t)(x % PAGES), w = (size_t)((x >> 32) % words);
    ((volatile uint64_t *)(base + p * (size_t)page))[w] = (id << 32) | i;
    if (i % BURST == 0) {
#ifdef _WIN32
      Sleep(0);
#else
      struct timespec t = {0, 300000};
      nanosleep(&t, NULL);
#endif
    }
  }
  atomic_fetch_add(&writers_done, 1);
}

/* Copies into the shadow every page whose bit is set in out (a harvest's report), read
 * at from (a view of the memory the writers write). */
static void shadow_copy(const uint64_t *out, const char *from) {
  for (int p = 0; p < PAGES; p++)
    if (out[p / 64] >> (p % 64) & 1)
      memcpy(shadow + (size_t)p * (size_t)page, from + (size_t)p * (size_t)page, (size_t)page);
}

/* After the final harvest: every page of mem equals its shadow. */
static void check_shadow(const char *mem) {
  int mismatched = 0, first_bad = -1;
  for (int p = 0; p < PAGES; p++) {
    if (memcmp(shadow + (size_t)p * (size_t)page, mem + (size_t)p * (size_t)page,
               (size_t)page) != 0) {
      mismatched++;
      if (first_bad < 0)
        first_bad = p;
    }
  }
  CHECK(mismatched == 0, "%d pages hold writes no harvest reported (first: page %d)", mismatched,
        first_bad);
}

#endif /* MPSPROT_HARVEST_RACE_H */
