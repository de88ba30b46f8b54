/* prot.c -- the OS-independent part of the shim: regions, ProtSet with its record,
 * the mutator registration behind ProtTramp
 *
 * Assumes: C11 atomics are lock-free for int and pointers (checked below), and the
 * OS seams do every system call: protos.h for memory, osdep.h for the rest (locks,
 * yielding, thread-local words).  Nothing here allocates from the C heap, so that the
 * fault handler may share the region table.
 */
#include "mpsprot.h"
#include "inject.h"
#include "osdep.h"
#include "protos.h"
#include "region.h"

#include <errno.h>
#include <string.h>

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "lock-free atomic int required");
_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2, "lock-free atomic pointers required");

#define MPSPROT_API_VERSION 1

struct region region_table[MPSPROT_MAX_REGIONS];
static _Atomic int slots_in_use; /* one past the highest slot ever used */
static _Atomic int live_regions;
static osdep_mutex table_lock = OSDEP_MUTEX_INIT;

/* The mutator depth is a thread-local word of osdep.h (OSDEP_TLS_MUTATOR_DEPTH): no
 * allocation on first touch, so the handler may read it (design .sol.tls). */

int mpsprot_version(void) { return MPSPROT_API_VERSION; }

/* mpsprot_setup and mpsprot_handler_installed live with the handler
 * (protsg_posix.c for Linux and macOS, protsg_windows.c). */

int64_t mpsprot_page_size(void) { return protos_page_size(); }

int region_pin(uintptr_t addr) {
  int n = atomic_load_explicit(&slots_in_use, memory_order_acquire);
  for (int i = 0; i < n; i++) {
    struct region *r = &region_table[i];
    if (atomic_load_explicit(&r->state, memory_order_acquire) != REGION_LIVE)
      continue;
    if (addr < r->base || addr >= r->limit)
      continue;
    /* seq_cst with destroy's DEAD store and users load (a Dekker pair): either the
     * destroyer sees this pin or this re-check sees DEAD. */
    atomic_fetch_add_explicit(&r->users, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&r->state, memory_order_seq_cst) == REGION_LIVE
        && addr >= r->base && addr < r->limit)
      return i;
    atomic_fetch_sub_explicit(&r->users, 1, memory_order_release);
  }
  return -1;
}

void region_unpin(int slot) {
  atomic_fetch_sub_explicit(&region_table[slot].users, 1, memory_order_release);
}

struct region *region_pin_slot(int slot) {
  if (slot < 0 || slot >= MPSPROT_MAX_REGIONS)
    return NULL;
  struct region *r = &region_table[slot];
  if (atomic_load_explicit(&r->state, memory_order_acquire) != REGION_LIVE)
    return NULL;
  inject_pause(MPSPROT_INJECT_PAUSE_PIN_SEEN);
  atomic_fetch_add_explicit(&r->users, 1, memory_order_seq_cst); /* as region_pin */
  inject_pause(MPSPROT_INJECT_PAUSE_PIN_ADDED);
  if (atomic_load_explicit(&r->state, memory_order_seq_cst) == REGION_LIVE) {
    inject_pause(MPSPROT_INJECT_PAUSE_PIN_HELD);
    return r;
  }
  atomic_fetch_sub_explicit(&r->users, 1, memory_order_release);
  return NULL;
}

void region_table_lock(void) { osdep_mutex_lock(&table_lock); }
void region_table_unlock(void) { osdep_mutex_unlock(&table_lock); }

/* How long a page's BUSY bit may stay set before region_page_acquire gives up
 * (design .sol.busy.bound).  A holder holds it around one mprotect of its run of pages
 * (microseconds; ~40 ns a resident page, so even a run of 10^8 resident pages, 400 GiB,
 * takes about 4 s) or one read of /proc/self/maps (milliseconds), and may be preempted
 * meanwhile (tens of milliseconds on a loaded machine).  Ten seconds is far beyond
 * every legitimate hold, and short enough that a corrupted record or a holder that died
 * ends in a message instead of a silent hang. */
#define REGION_BUSY_BOUND_NS ((int64_t)10 * 1000 * 1000 * 1000)

unsigned region_page_acquire(struct region *r, size_t p) {
  _Atomic unsigned char *b = &r->record[p];
  unsigned char v = atomic_load_explicit(b, memory_order_relaxed);
  int64_t busy_since = 0; /* the monotonic clock when BUSY was first seen; 0: not yet */
  for (;;) {
    if (v & REGION_BUSY) {
      int64_t now = osdep_now_ns();
      if (busy_since == 0)
        busy_since = now;
      else if (now - busy_since > REGION_BUSY_BOUND_NS)
        barrier_fail_busy(r, p, v, REGION_BUSY_BOUND_NS); /* does not return */
      osdep_yield();
      v = atomic_load_explicit(b, memory_order_relaxed);
      continue;
    }
    busy_since = 0; /* seen free: the bound counts one unbroken stretch of BUSY */
    if (atomic_compare_exchange_weak_explicit(b, &v, (unsigned char)(v | REGION_BUSY),
                                              memory_order_acquire, memory_order_relaxed))
      return v & (MPSPROT_ACCESS_ALL | REGION_FOREIGN);
  }
}

void region_page_release(struct region *r, size_t p, unsigned mode) {
  /* The holder of BUSY is the only writer: the sticky bits read here stay. */
  unsigned keep = atomic_load_explicit(&r->record[p], memory_order_relaxed) & REGION_STICKY;
  atomic_store_explicit(&r->record[p], (unsigned char)((mode & MPSPROT_ACCESS_ALL) | keep),
                        memory_order_release);
}

int mpsprot_region_find(int64_t addr) {
  int slot = region_pin((uintptr_t)addr);
  if (slot >= 0)
    region_unpin(slot);
  return slot;
}

int mpsprot_region_count(void) {
  return atomic_load_explicit(&live_regions, memory_order_acquire);
}

/* The bookkeeping block of a region of `pages` pages: the record (one byte a page),
 * the dirty and touched bitmaps (one bit a page), the access log.  One anonymous
 * mapping (lazily backed: untouched parts cost no memory), placed by protos_map_region
 * in the region's reservation, apart from both views by guard pages (design .sol.guard). */
struct book_layout {
  size_t dirty, touched, log, bytes;
};

static struct book_layout book_layout(size_t pages) {
  struct book_layout l;
  size_t words = (pages + 63) / 64;
  l.dirty = (pages + 63) & ~(size_t)63;
  l.touched = l.dirty + words * 8;
  l.log = (l.touched + words * 8 + 63) & ~(size_t)63;
  l.bytes = l.log + sizeof(struct region_log);
  return l;
}

/* A positive multiple of the page size, of at most MPSPROT_MAX_REGION_PAGES pages (so
 * that the page count, the record and the reservation's size never overflow). */
static int valid_size(int64_t size) {
  int64_t page = protos_page_size();
  return size > 0 && size % page == 0 && size / page <= MPSPROT_MAX_REGION_PAGES;
}

static int fork_hooks_once(void);

int mpsprot_region_create(int64_t size, int64_t *out) {
  if (out == NULL)
    return EINVAL;
  out[0] = out[1] = out[2] = -1;
  out[3] = MPSPROT_STAGE_NONE;
  if (!valid_size(size))
    return EINVAL;
  size_t pages = (size_t)(size / protos_page_size());
  int hooks_err = fork_hooks_once();
  if (hooks_err != 0) {
    out[3] = MPSPROT_STAGE_NOFORK;
    return hooks_err;
  }

  osdep_mutex_lock(&table_lock);
  int slot = -1;
  for (int i = 0; i < MPSPROT_MAX_REGIONS; i++) {
    if (atomic_load_explicit(&region_table[i].state, memory_order_acquire) == REGION_FREE) {
      slot = i;
      break;
    }
  }
  if (slot < 0) {
    osdep_mutex_unlock(&table_lock);
    out[3] = MPSPROT_STAGE_SLOTS;
    return ENFILE;
  }
  struct book_layout layout = book_layout(pages);
  uintptr_t base, alias;
  void *book;
  int stage = MPSPROT_STAGE_NONE;
  struct protos_id id;
  int err = protos_map_region((size_t)size, layout.bytes, &base, &alias, &book, &stage, &id);
  if (err != 0) {
    osdep_mutex_unlock(&table_lock);
    out[3] = stage;
    return err;
  }
  unsigned char *record = book;
  struct region *r = &region_table[slot];
  r->base = base;
  r->limit = base + (uintptr_t)size;
  r->alias = alias;
  r->pages = pages;
  r->record = (_Atomic unsigned char *)record;
  r->dirty = (_Atomic uint64_t *)(void *)(record + layout.dirty);
  r->touched = (_Atomic uint64_t *)(void *)(record + layout.touched);
  r->log = (struct region_log *)(void *)(record + layout.log);
  r->book_bytes = layout.bytes;
  r->id = id;
  atomic_store_explicit(&r->foreign, 0, memory_order_relaxed);
  atomic_store_explicit(&r->policy, MPSPROT_POLICY_NONE, memory_order_relaxed);
  atomic_store_explicit(&r->fallback, MPSPROT_FALLBACK_FAIL_FAST, memory_order_relaxed);
  /* users is not reset here (region.h): a lookup that saw the slot's previous region LIVE
   * may have added its pin after that region's destroy and will take it back when its
   * re-check sees this state; a reset would lose its pin or, if its re-check sees this
   * region LIVE, leave it pinned uncounted (and users -1 after its unpin). */
  atomic_store_explicit(&r->state, REGION_LIVE, memory_order_release);
  if (slot + 1 > atomic_load_explicit(&slots_in_use, memory_order_relaxed))
    atomic_store_explicit(&slots_in_use, slot + 1, memory_order_release);
  atomic_fetch_add_explicit(&live_regions, 1, memory_order_acq_rel);
  osdep_mutex_unlock(&table_lock);

  out[0] = slot;
  out[1] = (int64_t)base;
  out[2] = (int64_t)alias;
  return 0;
}

struct region *region_live(int slot) {
  if (slot < 0 || slot >= MPSPROT_MAX_REGIONS)
    return NULL;
  struct region *r = &region_table[slot];
  return atomic_load_explicit(&r->state, memory_order_acquire) == REGION_LIVE ? r : NULL;
}

int mpsprot_region_destroy(int slot) {
  osdep_mutex_lock(&table_lock);
  struct region *r = region_live(slot);
  if (r == NULL) {
    osdep_mutex_unlock(&table_lock);
    return EINVAL;
  }
  /* Unregister first: from here on no fault is attributed to this region.  seq_cst:
   * the Dekker pair with region_pin's and region_pin_slot's increment and re-check. */
  atomic_store_explicit(&r->state, REGION_DEAD, memory_order_seq_cst);
  while (atomic_load_explicit(&r->users, memory_order_seq_cst) != 0)
    osdep_yield();
  region_unmap_owned(r);
  r->record = NULL;
  r->dirty = r->touched = NULL;
  r->log = NULL;
  atomic_fetch_sub_explicit(&live_regions, 1, memory_order_acq_rel);
  atomic_store_explicit(&r->state, REGION_FREE, memory_order_release);
  osdep_mutex_unlock(&table_lock);
  return 0;
}

int64_t mpsprot_region_record(int slot) {
  struct region *r = region_pin_slot(slot);
  if (r == NULL)
    return 0;
  int64_t record = (int64_t)(uintptr_t)r->record;
  region_unpin(slot);
  return record;
}

int mpsprot_region_alias_reset(int slot) {
  struct region *r = region_pin_slot(slot);
  if (r == NULL)
    return EINVAL;
  int err = protos_set(r->alias, r->limit - r->base, 0);
  region_unpin(slot);
  return err;
}

/* Re-applies the recorded protection of pages [first, last) run by run (the caller
 * holds BUSY on them: the record's AccessSet bits are the values before). */
int region_restore_runs(struct region *r, size_t first, size_t last) {
  size_t page = (size_t)protos_page_size();
  int failed = 0;
  size_t run = first;
  while (run < last) {
    unsigned char mode = atomic_load_explicit(&r->record[run], memory_order_relaxed)
                         & (MPSPROT_ACCESS_ALL | REGION_FOREIGN);
    size_t end = run + 1;
    while (end < last && (atomic_load_explicit(&r->record[end], memory_order_relaxed)
                          & (MPSPROT_ACCESS_ALL | REGION_FOREIGN)) == mode)
      end++;
    if (!(mode & REGION_FOREIGN) /* someone else's memory now: never touched */
        && protos_set(r->base + run * page, (end - run) * page, mode) != 0)
      failed = 1;
    run = end;
  }
  return failed;
}

static int protect_pinned(struct region *r, int64_t offset, int64_t length, int mode,
                          int32_t *restore_failed);

/* Pins the slot for the whole call, so that a concurrent mpsprot_region_destroy waits
 * for it instead of unmapping the record under it. */
int mpsprot_protect(int slot, int64_t offset, int64_t length, int mode,
                    int32_t *restore_failed) {
  if (restore_failed == NULL)
    return EINVAL;
  *restore_failed = 0;
  struct region *r = region_pin_slot(slot);
  if (r == NULL)
    return EINVAL;
  int err = protect_pinned(r, offset, length, mode, restore_failed);
  region_unpin(slot);
  return err;
}

static int protect_pinned(struct region *r, int64_t offset, int64_t length, int mode,
                          int32_t *restore_failed) {
  int64_t page = protos_page_size();
  if (r == NULL || (mode & ~MPSPROT_ACCESS_ALL) != 0 || offset < 0 || length <= 0
      || offset % page != 0 || length % page != 0
      || (uint64_t)offset + (uint64_t)length > (uint64_t)(r->limit - r->base))
    return EINVAL;
  size_t first = (size_t)(offset / page);
  size_t last = first + (size_t)(length / page);
  /* The BUSY protocol (region.h), pages in ascending order as every holder of several
   * pages takes them, so no two holders wait on each other. */
  for (size_t i = first; i < last; i++)
    region_page_acquire(r, i);
  if (region_range_foreign(r, first, last)) { /* .sol.replaced: refused, nothing changed */
    for (size_t i = first; i < last; i++)
      region_page_release(r, i, atomic_load_explicit(&r->record[i], memory_order_relaxed));
    return ENXIO;
  }
  int err = protos_set(r->base + (uintptr_t)offset, (size_t)length, mode);
  if (err != 0) {
    *restore_failed = region_restore_or_adopt(r, first, last, (unsigned)mode);
    for (size_t i = first; i < last; i++)
      region_page_release(r, i, atomic_load_explicit(&r->record[i], memory_order_relaxed));
    return err;
  }
  for (size_t i = first; i < last; i++)
    region_page_release(r, i, (unsigned)mode);
  return 0;
}

void mpsprot_mutator_enter(void) {
  osdep_tls_set(OSDEP_TLS_MUTATOR_DEPTH, osdep_tls_get(OSDEP_TLS_MUTATOR_DEPTH) + 1);
}

void mpsprot_mutator_leave(void) {
  uintptr_t depth = osdep_tls_get(OSDEP_TLS_MUTATOR_DEPTH);
  if (depth > 0)
    osdep_tls_set(OSDEP_TLS_MUTATOR_DEPTH, depth - 1);
}

int mpsprot_mutator_depth(void) { return (int)osdep_tls_get(OSDEP_TLS_MUTATOR_DEPTH); }

/* ---- fork (design .sol.fork) --------------------------------------------------------
 * A child process inherits none of the regions: protos_map_region marks their
 * reservations MADV_DONTFORK, so the child has no mapping there and an access faults
 * with SEGV_MAPERR, which the handler passes on like any fault that is not the
 * module's.  These pthread_atfork handlers make the child's shim agree: the region
 * table is empty, the userfaultfd table and the cached /proc/self/pagemap fd (which
 * still name the parent) are forgotten, and no mutator is parked.  prepare takes the
 * table lock, so that no region is half created or half destroyed at the fork. */
#if defined(_WIN32)
static int fork_hooks_once(void) { return 0; } /* no fork on Windows */
#else
#include "dirty_uffd.h"

#include <pthread.h>

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static int fork_register_err;

static void fork_prepare(void) { osdep_mutex_lock(&table_lock); }
static void fork_parent(void) { osdep_mutex_unlock(&table_lock); }

/* In the child (one thread, the one that forked): only stores, close() and unlocks. */
static void fork_child(void) {
  for (int i = 0; i < MPSPROT_MAX_REGIONS; i++) {
    struct region *r = &region_table[i];
    atomic_store_explicit(&r->state, REGION_FREE, memory_order_relaxed);
    atomic_store_explicit(&r->users, 0, memory_order_relaxed);
    r->record = NULL;
    r->dirty = r->touched = NULL;
    r->log = NULL;
  }
  atomic_store_explicit(&slots_in_use, 0, memory_order_relaxed);
  atomic_store_explicit(&live_regions, 0, memory_order_relaxed);
  uffd_after_fork_child();
  barrier_after_fork_child();
  osdep_mutex_unlock(&table_lock);
}

static void fork_register(void) {
  fork_register_err = pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* 0, or the errno of pthread_atfork (ENOMEM): then no region is created, because a child
 * would keep a table that names mappings it does not have. */
static int fork_hooks_once(void) {
  pthread_once(&fork_once, fork_register);
  return fork_register_err;
}
#endif
