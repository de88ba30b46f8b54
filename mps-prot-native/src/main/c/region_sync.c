/* region_sync.c -- ProtSync in the shim, the record's adoption of the OS's protection
 * after a failed restore, and the regions' foreign pages (docs/design/prot.md .if.sync,
 * .sol.restore, .sol.replaced)
 *
 * Assumes the maps seam (osmaps.h) for what the OS really applied, the BUSY protocol of
 * region.h for every change of a page's protection or record, and a record whose base is
 * page-aligned (protos_alloc), so that it can be read eight bytes at a time.
 *
 * Why in C: a thread that faults on a page whose BUSY bit is held waits inside the
 * handler; if the holder then waited on Java (a /proc reader in Java, the module's lock),
 * the next safepoint would wait for the faulting thread while the Java thread waits for
 * the safepoint: the JVM deadlocks (design rule 2).  Here everything done while BUSY is
 * held is C: an mprotect, a read of the OS's list of mappings, stores to the record.
 *
 * Cost: a sync reads the list of mappings once per view and batch, and compares each
 * mapping with the record over its pages eight record bytes at a time; per-page work is
 * spent only on pages that differ.  A 256 GiB region (64 Mi pages, a 64 MiB record) is
 * scanned in milliseconds, not seconds.
 *
 * Nothing here allocates or is called from the fault handler.
 */
#include "mpsprot.h"
#include "osmaps.h"
#include "protos.h"
#include "region.h"

#include <errno.h>
#include <string.h>

/* ---- The record, eight bytes at a time -------------------------------------------- */

static unsigned rec(struct region *r, size_t p) {
  return atomic_load_explicit(&r->record[p], memory_order_relaxed);
}

#define BYTES8(b) ((uint64_t)0x0101010101010101u * (uint64_t)(b))

/* The first page in [p, end) whose record byte masked with `mask` is not `value`, or end. */
static size_t scan_until_not(struct region *r, size_t p, size_t end, unsigned mask,
                             unsigned value) {
  uint64_t m8 = BYTES8(mask), v8 = BYTES8(value);
  while (p < end) {
    if ((p & 7) == 0 && p + 8 <= end) {
      uint64_t w = atomic_load_explicit((_Atomic uint64_t *)(void *)&r->record[p],
                                        memory_order_relaxed);
      if ((w & m8) == v8) {
        p += 8;
        continue;
      }
      for (size_t i = p; i < p + 8; i++)
        if ((rec(r, i) & mask) != value)
          return i;
      p += 8; /* changed back meanwhile: go on */
      continue;
    }
    if ((rec(r, p) & mask) != value)
      return p;
    p++;
  }
  return end;
}

/* The record bytes that agree with the OS's permissions `perms` (MPSPROT_QUERY_*): those
 * whose byte & *mask == *value.  0 when no AccessSet gives these permissions (execute,
 * write-only): every page differs. */
static int perms_match(int perms, unsigned *mask, unsigned *value) {
  switch (perms) {
  case MPSPROT_QUERY_READ | MPSPROT_QUERY_WRITE:
    *mask = MPSPROT_ACCESS_ALL;
    *value = 0;
    return 1;
  case MPSPROT_QUERY_READ:
    *mask = MPSPROT_ACCESS_ALL;
    *value = MPSPROT_ACCESS_WRITE;
    return 1;
  case 0: /* {READ} and {READ, WRITE} both apply no access */
    *mask = MPSPROT_ACCESS_READ;
    *value = MPSPROT_ACCESS_READ;
    return 1;
  default:
    return 0;
  }
}

static int agrees(int perms, unsigned mode) {
  unsigned mask, value;
  return perms_match(perms, &mask, &value) && (mode & mask) == value;
}

/* The AccessSet that forbids exactly what `perms` forbids, or less (never more: a record
 * that forbids an access the OS permits would let that access go unseen). */
static unsigned mode_of_perms(int perms) {
  if (!(perms & MPSPROT_QUERY_READ))
    return MPSPROT_ACCESS_ALL;
  if (!(perms & MPSPROT_QUERY_WRITE))
    return MPSPROT_ACCESS_WRITE;
  return 0;
}

/* ---- Walking one view of a region against the OS's mappings ------------------------ */

enum seg_class { SEG_OWN, SEG_UNMAPPED, SEG_REPLACED };
#define WALK_STOP (-1) /* a segment function's "stop here" (errno values are positive) */

struct walk;
typedef int (*seg_fn)(struct walk *w, uintptr_t s, uintptr_t t, int cls, int perms);

/* Covers [lo, hi) of the view at vbase with segments: runs of one mapping of the region's
 * own memory (with its permissions), of nothing (unmapped), or of a mapping of something
 * else (replaced: another device, inode or offset).  pos is the address up to which
 * segments have been handed out. */
struct walk {
  struct region *r;
  uintptr_t vbase, lo, hi, pos;
  size_t page;
  seg_fn seg;
};

static int walk_entry(void *arg, const struct osmaps_entry *e) {
  struct walk *w = arg;
  uintptr_t s = e->start < w->lo ? w->lo : e->start;
  uintptr_t t = e->end > w->hi ? w->hi : e->end;
  /* /proc/self/maps is read in chunks, and mappings that change between two chunks (another
   * thread's mprotect splits or merges them) can make a line start before the end of one
   * already handed out.  Segments never go back: a page handed out twice would be claimed
   * twice by confirm_batch, which then waits for its own BUSY bit for ever. */
  if (s < w->pos)
    s = w->pos;
  if (s >= t)
    return 0;
  if (s > w->pos) {
    int stop = w->seg(w, w->pos, s, SEG_UNMAPPED, 0);
    w->pos = s;
    if (stop != 0)
      return stop;
  }
  int cls = SEG_OWN;
  const struct protos_id *id = &w->r->id;
  if (e->identified && id->known
      && (e->dev_major != id->dev_major || e->dev_minor != id->dev_minor || e->ino != id->ino
          || e->offset + (uint64_t)(s - e->start) != (uint64_t)(s - w->vbase)))
    cls = SEG_REPLACED;
  int stop = w->seg(w, s, t, cls, e->perms);
  w->pos = t;
  return stop;
}

/* 0 when [lo, hi) was covered, WALK_STOP when a segment function stopped it, else the
 * errno of reading the OS's mappings (segments before w->pos were handed out). */
static int walk_view(struct walk *w) {
  w->pos = w->lo;
  int err = osmaps_scan(w->lo, w->hi, walk_entry, w);
  if (err != 0)
    return err;
  if (w->pos < w->hi) {
    int stop = w->seg(w, w->pos, w->hi, SEG_UNMAPPED, 0);
    w->pos = w->hi;
    return stop;
  }
  return 0;
}

static size_t page_of(const struct walk *w, uintptr_t a) {
  return (size_t)((a - w->vbase) / w->page);
}

/* ---- Foreign pages ---------------------------------------------------------------- */

/* Marks page p's sticky bit `bit` (REGION_FOREIGN or _ALIAS_FOREIGN); the caller holds
 * BUSY on p. */
static void mark_foreign(struct region *r, size_t p, unsigned bit) {
  unsigned char before =
      atomic_fetch_or_explicit(&r->record[p], (unsigned char)bit, memory_order_relaxed);
  if (!(before & bit))
    atomic_fetch_add_explicit(&r->foreign, 1, memory_order_relaxed);
}

int region_range_foreign(struct region *r, size_t first, size_t last) {
  if (atomic_load_explicit(&r->foreign, memory_order_acquire) == 0)
    return 0;
  return scan_until_not(r, first, last, REGION_FOREIGN, 0) < last;
}

void region_unmap_owned(struct region *r) {
  size_t size = r->limit - r->base;
  if (atomic_load_explicit(&r->foreign, memory_order_acquire) == 0) {
    protos_unmap_region(r->base, r->alias, size, (void *)r->record, r->book_bytes);
    return;
  }
  size_t page = (size_t)protos_page_size();
  const unsigned bits[2] = {REGION_FOREIGN, REGION_ALIAS_FOREIGN};
  const uintptr_t views[2] = {r->base, r->alias};
  for (int v = 0; v < 2; v++) {
    size_t p = 0;
    while (p < r->pages) {
      size_t q = scan_until_not(r, p, r->pages, bits[v], 0); /* [p, q) is the region's */
      if (q > p)
        protos_unmap(views[v] + p * page, (q - p) * page);
      p = q < r->pages ? scan_until_not(r, q, r->pages, bits[v], bits[v]) : q;
    }
  }
  protos_unmap_frame(r->base, r->alias, size, (void *)r->record, r->book_bytes);
}

/* ---- The record's adoption of the OS's protection (.sol.restore) ------------------- */

struct adopt {
  struct walk w; /* first */
  unsigned new_mode;
};

/* BUSY is held on every page: the record bytes are rewritten with BUSY kept. */
static int adopt_seg(struct walk *w, uintptr_t s, uintptr_t t, int cls, int perms) {
  struct adopt *a = (struct adopt *)w;
  struct region *r = w->r;
  for (size_t p = page_of(w, s), end = page_of(w, t); p < end; p++) {
    unsigned v = rec(r, p), old = v & MPSPROT_ACCESS_ALL, m;
    if (cls != SEG_OWN) {
      if (osmaps_identifies())
        mark_foreign(r, p, REGION_FOREIGN);
      continue;
    }
    if (agrees(perms, old))
      continue;
    m = agrees(perms, a->new_mode) ? a->new_mode : mode_of_perms(perms);
    atomic_store_explicit(&r->record[p], (unsigned char)((v & ~MPSPROT_ACCESS_ALL) | m),
                          memory_order_relaxed);
  }
  return 0;
}

int region_restore_or_adopt(struct region *r, size_t first, size_t last, unsigned new_mode) {
  if (!region_restore_runs(r, first, last))
    return MPSPROT_RESTORED;
  size_t page = (size_t)protos_page_size();
  struct adopt a = {
      .w = {.r = r, .vbase = r->base, .lo = r->base + first * page,
            .hi = r->base + last * page, .page = page, .seg = adopt_seg},
      .new_mode = new_mode};
  if (walk_view(&a.w) == 0)
    return MPSPROT_ADOPTED;
  /* The OS cannot be read (from w.pos on).  Each of these pages has either its old
   * protection or new_mode (the failed call applied a prefix, the failed restore undid
   * part of it): the record takes what both permit, so it never forbids an access the
   * OS permits (a write is never missed; a fault on a page the record allows is the
   * handler's spurious fault, which re-applies the record), and that is re-applied. */
  for (size_t p = page_of(&a.w, a.w.pos); p < last; p++) {
    unsigned v = rec(r, p);
    unsigned m = v & MPSPROT_ACCESS_ALL & new_mode;
    atomic_store_explicit(&r->record[p], (unsigned char)((v & ~MPSPROT_ACCESS_ALL) | m),
                          memory_order_relaxed);
  }
  region_restore_runs(r, page_of(&a.w, a.w.pos), last);
  return MPSPROT_WIDENED;
}

/* ---- ProtSync (.if.sync) ---------------------------------------------------------- */

/* Candidate differences are collected from one read of the OS's mappings without holding
 * anything, then confirmed under BUSY with a second read: a page is reported only if it
 * still differs while no one can change it, and its record is what the first read was
 * compared with (a page whose record changed meanwhile was being changed by the module:
 * the fault handler, a harvest, a ProtSet). */
#define SYNC_BATCH 64

struct cand {
  size_t first, last; /* pages of the view */
  int kind;           /* MPSPROT_SYNC_* */
  unsigned recorded;  /* the record's AccessSet when collected (alias: 0) */
};

struct sync {
  struct walk w; /* first */
  int view;      /* MPSPROT_VIEW_* */
  int repair;
  struct cand c[SYNC_BATCH];
  int n, cap;
  size_t next;   /* collect: the page where the next batch starts */
  /* confirm: */
  int ci;
  int have;                 /* a run is pending */
  size_t rf, rl;            /* its pages */
  int rkind, ractual;
  unsigned rrec;
  int64_t *out;
  int written, max, full;
  size_t resume;            /* when full: the first page not written */
};

static int kind_of(int cls) {
  return cls == SEG_OWN ? MPSPROT_SYNC_DIFFERENT
                        : cls == SEG_UNMAPPED ? MPSPROT_SYNC_UNMAPPED : MPSPROT_SYNC_REPLACED;
}

static void add_cand(struct sync *s, size_t first, size_t last, int kind, unsigned recorded) {
  struct cand *c = &s->c[s->n++];
  c->first = first;
  c->last = last;
  c->kind = kind;
  c->recorded = recorded;
}

static int collect_seg(struct walk *w, uintptr_t a, uintptr_t b, int cls, int perms) {
  struct sync *s = (struct sync *)w;
  struct region *r = w->r;
  size_t p = page_of(w, a), end = page_of(w, b);
  int kind = kind_of(cls);
  if (s->view == MPSPROT_VIEW_ALIAS) {
    if (cls == SEG_OWN && perms == (MPSPROT_QUERY_READ | MPSPROT_QUERY_WRITE))
      return 0;
    add_cand(s, p, end, kind, 0);
    s->next = end;
    return s->n == s->cap ? WALK_STOP : 0;
  }
  unsigned mask = 0, value = 0;
  int matchable = cls == SEG_OWN && perms_match(perms, &mask, &value);
  while (p < end) {
    if (matchable)
      p = scan_until_not(r, p, end, mask, value);
    if (p >= end)
      break;
    unsigned v = rec(r, p) & MPSPROT_ACCESS_ALL;
    size_t q = scan_until_not(r, p + 1, end, MPSPROT_ACCESS_ALL, v);
    add_cand(s, p, q, kind, v);
    p = q;
    if (s->n == s->cap) {
      s->next = p;
      return WALK_STOP;
    }
  }
  s->next = end;
  return 0;
}

/* Writes the pending run to out (repairing or marking it first); 0, or WALK_STOP when out
 * is full (the run is then neither repaired nor written: the next call finds it). */
static int flush_run(struct sync *s) {
  if (!s->have)
    return 0;
  s->have = 0;
  if (s->written == s->max) {
    s->full = 1;
    s->resume = s->rf;
    return WALK_STOP;
  }
  struct region *r = s->w.r;
  size_t page = s->w.page;
  int repaired = 0;
  if (s->rkind == MPSPROT_SYNC_DIFFERENT) {
    if (s->repair) /* re-applying the record under BUSY is always right */
      repaired = protos_set(s->w.vbase + s->rf * page, (s->rl - s->rf) * page,
                            s->view == MPSPROT_VIEW_MUTATOR ? (int)s->rrec : 0) == 0;
  } else if (osmaps_identifies()) {
    for (size_t p = s->rf; p < s->rl; p++) {
      if (s->view == MPSPROT_VIEW_MUTATOR) {
        mark_foreign(r, p, REGION_FOREIGN); /* BUSY held */
      } else {
        unsigned m = region_page_acquire(r, p);
        mark_foreign(r, p, REGION_ALIAS_FOREIGN);
        region_page_release(r, p, m);
      }
    }
  }
  int64_t *o = s->out + 7 * s->written++;
  o[0] = (int64_t)(s->w.vbase + s->rf * page);
  o[1] = (int64_t)(s->w.vbase + s->rl * page);
  o[2] = s->view;
  o[3] = s->rkind;
  o[4] = (int64_t)s->rrec;
  o[5] = s->rkind == MPSPROT_SYNC_UNMAPPED ? -1 : s->ractual;
  o[6] = repaired;
  return 0;
}

/* Page p is (1) or is not (0) a confirmed difference of the kind/actual given. */
static int confirm_page(struct sync *s, size_t p, int differs, int kind, unsigned now,
                        int actual) {
  if (s->have && (!differs || p != s->rl || kind != s->rkind || now != s->rrec
                  || actual != s->ractual)) {
    if (flush_run(s) != 0)
      return WALK_STOP;
  }
  if (!differs)
    return 0;
  if (s->have) {
    s->rl = p + 1;
  } else {
    s->have = 1;
    s->rf = p;
    s->rl = p + 1;
    s->rkind = kind;
    s->rrec = now;
    s->ractual = actual;
  }
  return 0;
}

static int confirm_seg(struct walk *w, uintptr_t a, uintptr_t b, int cls, int perms) {
  struct sync *s = (struct sync *)w;
  size_t ps = page_of(w, a), pt = page_of(w, b);
  int kind = kind_of(cls);
  while (s->ci < s->n && s->c[s->ci].last <= ps)
    s->ci++;
  for (int j = s->ci; j < s->n && s->c[j].first < pt; j++) {
    const struct cand *c = &s->c[j];
    size_t from = c->first > ps ? c->first : ps, to = c->last < pt ? c->last : pt;
    for (size_t p = from; p < to; p++) {
      unsigned now = s->view == MPSPROT_VIEW_MUTATOR ? rec(w->r, p) & MPSPROT_ACCESS_ALL : 0;
      int differs = now == c->recorded && (cls != SEG_OWN || !agrees(perms, now));
      if (confirm_page(s, p, differs, kind, now, perms) != 0)
        return WALK_STOP;
    }
  }
  return 0;
}

/* Confirms, repairs and writes out the batch s->c[0 .. n); 0, or an errno. */
static int confirm_batch(struct sync *s) {
  struct region *r = s->w.r;
  int mutator = s->view == MPSPROT_VIEW_MUTATOR;
  if (mutator) /* ascending, as every holder of several pages takes them */
    for (int j = 0; j < s->n; j++)
      for (size_t p = s->c[j].first; p < s->c[j].last; p++)
        region_page_acquire(r, p);
  struct walk scan = s->w;
  s->w.lo = s->w.vbase + s->c[0].first * s->w.page;
  s->w.hi = s->w.vbase + s->c[s->n - 1].last * s->w.page;
  s->w.seg = confirm_seg;
  s->ci = 0;
  s->have = 0;
  int err = walk_view(&s->w);
  if (err == 0)
    err = flush_run(s);
  else if (err != WALK_STOP)
    s->have = 0; /* the OS could not be read: nothing more is confirmed */
  if (mutator)
    for (int j = 0; j < s->n; j++)
      for (size_t p = s->c[j].first; p < s->c[j].last; p++)
        region_page_release(r, p, rec(r, p));
  s->w = scan;
  return err == WALK_STOP ? 0 : err;
}

/* Pins a live slot whose mutator view starts at base (region_pin_slot, then the base: a
 * slot reused by another region is refused), or NULL. */
static struct region *sync_pin(int slot, int64_t base) {
  struct region *r = region_pin_slot(slot);
  if (r != NULL && r->base != (uintptr_t)base) {
    region_unpin(slot);
    return NULL;
  }
  return r;
}

int mpsprot_region_sync(int slot, int64_t base, int repair, int64_t from, int64_t *out,
                        int max, int64_t *result) {
  if (result == NULL || out == NULL || max < 1 || from < 0)
    return EINVAL;
  result[0] = 0;
  result[1] = from;
  struct region *r = sync_pin(slot, base);
  if (r == NULL)
    return EINVAL;
  size_t page = (size_t)protos_page_size();
  size_t pages = r->pages, cursor = (size_t)from;
  struct sync s;
  memset(&s, 0, sizeof s);
  s.repair = repair != 0;
  s.out = out;
  s.max = max;
  int err = 0;
  while (cursor < 2 * pages && s.written < max) {
    s.view = cursor < pages ? MPSPROT_VIEW_MUTATOR : MPSPROT_VIEW_ALIAS;
    size_t first = cursor - (s.view == MPSPROT_VIEW_ALIAS ? pages : 0);
    uintptr_t vbase = s.view == MPSPROT_VIEW_ALIAS ? r->alias : r->base;
    s.w = (struct walk){.r = r, .vbase = vbase, .lo = vbase + first * page,
                        .hi = vbase + pages * page, .page = page, .seg = collect_seg};
    s.n = 0;
    s.cap = max - s.written < SYNC_BATCH ? max - s.written : SYNC_BATCH;
    s.next = pages;
    err = walk_view(&s.w);
    if (err == WALK_STOP)
      err = 0;
    if (err != 0)
      break;
    size_t next = s.next;
    if (s.n > 0) {
      s.full = 0;
      err = confirm_batch(&s);
      if (err != 0)
        break;
      if (s.full)
        next = s.resume;
    }
    cursor = next + (s.view == MPSPROT_VIEW_ALIAS ? pages : 0);
  }
  region_unpin(slot);
  result[0] = s.written;
  result[1] = (int64_t)cursor;
  return err;
}
