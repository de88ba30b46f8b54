/* region.h -- the shim's table of live regions
 *
 * A fixed array of slots, so that the signal handler can find the region of a fault
 * address without locks or allocation (design .sol.lookup).  Creation and destruction
 * take a mutex (never from the handler); lookup is lock-free:
 * - a slot's fields are written before its state is published LIVE (release store) and
 *   read only after a LIVE state was seen (acquire load);
 * - a lookup that will touch the slot's memory pins it (users + 1) and re-checks LIVE;
 *   destruction publishes DEAD, then waits until users is 0 before unmapping, so a
 *   handler never touches unmapped bookkeeping;
 * - users is never reset while other threads run (only in the fork child, alone): a
 *   lookup that saw a slot LIVE may add its pin after that region was destroyed, while
 *   the slot is FREE or being created again, and takes it back only after its re-check;
 *   its pin counts for the new region if the re-check sees that one LIVE.
 */
#ifndef MPSPROT_REGION_H
#define MPSPROT_REGION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "mpsprot.h"
#include "osdep.h"
#include "protos.h"

enum region_state { REGION_FREE = 0, REGION_LIVE = 1, REGION_DEAD = 2 };

/* The record byte of a page (design .sol.harvest, the BUSY protocol): bits 0-1 hold
 * the AccessSet last applied; REGION_BUSY is set while one thread changes the page's
 * protection.  Whoever changes a page's protection (the handler opening it,
 * mpsprot_harvest re-protecting it, mpsprot_protect) first CASes the byte from a
 * value without BUSY to value|BUSY (yielding while another holds it), then calls
 * mprotect, then stores the new AccessSet (release).  Readers outside the shim mask
 * the byte with MPSPROT_ACCESS_ALL. */
#define REGION_BUSY 0x80u

/* Sticky bits of the record byte (design .sol.replaced): REGION_FOREIGN is set (under
 * BUSY) when ProtSync or a restore found the page of the mutator's view no longer the
 * region's (unmapped, or replaced from outside by mmap MAP_FIXED: /proc/self/maps shows
 * another device, inode or offset there); REGION_ALIAS_FOREIGN says the same of the
 * page's twin in the alias view.  Nothing clears them: the module never changes the
 * protection of a FOREIGN page (mpsprot_protect and mpsprot_harvest refuse with ENXIO,
 * restores skip it), the handler passes a fault on it to the previous handler, and
 * destruction unmaps only the pages still the region's.  region_page_release keeps
 * them; region_page_acquire returns REGION_FOREIGN with the AccessSet. */
#define REGION_FOREIGN 0x40u
#define REGION_ALIAS_FOREIGN 0x20u
#define REGION_STICKY (REGION_FOREIGN | REGION_ALIAS_FOREIGN)

/* The STEP policy's access log: a bounded multi-producer, multi-consumer queue
 * (mpmc.h), lock-free for producers (the handler) and never waiting on them.  Zeroed
 * memory is a valid empty queue (no page of it is touched before the log is used). */
struct region_log_cell {
  _Atomic uint64_t seq;
  struct mpsprot_log_entry entry;
};
struct region_log {
  _Atomic uint64_t head;    /* next position to fill */
  char pad1[56];
  _Atomic uint64_t tail;    /* next position to drain */
  char pad2[56];
  struct region_log_cell cells[MPSPROT_LOG_CAPACITY];
};
_Static_assert((MPSPROT_LOG_CAPACITY & (MPSPROT_LOG_CAPACITY - 1)) == 0,
               "the log capacity is a power of two");
_Static_assert(offsetof(struct region_log_cell, seq) == 0, "mpmc.h: a cell begins with seq");

struct region {
  _Atomic int state;
  _Atomic int users;
  uintptr_t base;   /* mutator view, inclusive */
  uintptr_t limit;  /* mutator view, exclusive */
  uintptr_t alias;  /* collector view of the same pages */
  size_t pages;
  _Atomic unsigned char *record; /* AccessSet last applied, one byte per page (+BUSY) */
  _Atomic int policy;            /* MPSPROT_POLICY_* */
  _Atomic int fallback;          /* MPSPROT_FALLBACK_*, for HANDOFF */
  _Atomic uint64_t *dirty;       /* one bit per page: a write opened it */
  _Atomic uint64_t *touched;     /* one bit per page: a read opened it */
  struct region_log *log;        /* the STEP policy's access log */
  size_t book_bytes;             /* the bookkeeping block (record, bitmaps, log) */
  struct protos_id id;           /* the shared memory's identity (ProtSync: .sol.replaced) */
  _Atomic size_t foreign;        /* pages ever marked REGION_FOREIGN or _ALIAS_FOREIGN */
};

extern struct region region_table[];

/* The slot holding addr, pinned (release it with region_unpin), or -1. */
int region_pin(uintptr_t addr);
void region_unpin(int slot);

/* The live region of a slot, pinned (users + 1, then LIVE re-checked, as region_pin),
 * or NULL.  Every mpsprot_* entry point that takes a slot holds such a pin for its
 * whole duration and releases it with region_unpin(slot), so that a concurrent
 * mpsprot_region_destroy waits instead of unmapping the bookkeeping under it. */
struct region *region_pin_slot(int slot);

/* The live region of a slot, or NULL (not for the handler: it pins).  Unpinned: only
 * for a caller that holds the table lock or reads nothing behind the pointers. */
struct region *region_live(int slot);

/* Region creation and destruction serialise on this lock (mpsprot_uninstall takes it
 * to check that no region is live). Never taken by the handler. */
void region_table_lock(void);
void region_table_unlock(void);

/* The BUSY protocol on page p's record byte: region_page_acquire spins (osdep_yield)
 * until it sets BUSY over a value without it and returns that value's AccessSet, with
 * REGION_FOREIGN if set, or, after 10 s of BUSY by the monotonic clock, fails fast
 * (barrier_fail_busy; design .sol.busy.bound); region_page_release stores mode's
 * AccessSet (without BUSY, keeping the sticky bits) with release order.
 * Async-signal-safe. */
unsigned region_page_acquire(struct region *r, size_t p);
void region_page_release(struct region *r, size_t p, unsigned mode);

/* Re-applies the recorded AccessSet of pages [first, last) run by run (the caller holds
 * BUSY on them), skipping REGION_FOREIGN pages; 1 if an mprotect failed, else 0.  Used
 * after a failed change. */
int region_restore_runs(struct region *r, size_t first, size_t last);

/* region_sync.c.  After a failed change of pages [first, last) to new_mode, with BUSY
 * held on them and the record still holding their values before: re-applies those; if
 * that fails, makes the record equal the OS's real protection, read from the maps seam
 * (osmaps.h) while BUSY is still held; if even the OS cannot be read, gives each page
 * the least restrictive of its old value and new_mode and re-applies that (design
 * .sol.restore).  Returns MPSPROT_RESTORED, _ADOPTED or _WIDENED (mpsprot.h).  Never
 * from the handler. */
int region_restore_or_adopt(struct region *r, size_t first, size_t last, unsigned new_mode);

/* region_sync.c.  1 if a page of [first, last) carries REGION_FOREIGN, else 0 (cheap
 * while the region has none). */
int region_range_foreign(struct region *r, size_t first, size_t last);

/* region_sync.c.  Unmaps a region being destroyed (its views, bookkeeping and guards),
 * leaving alone every view page marked foreign (it is someone else's memory now). */
void region_unmap_owned(struct region *r);

/* The barrier's entry from the handler (barrier.c), for a fault (a SIGSEGV or SIGBUS;
 * on Windows an access violation) whose address lies in the pinned slot.  Unpins the
 * slot.  Returns 1 when the fault was the module's (resolved, or the process was
 * aborted), 0 when the handler must pass it on (not a data access).  Async-signal-safe. */
int barrier_fault(int slot, const osdep_fault_info *info, osdep_fault_frame *uc);

/* Counts one event in the counters of mpsprot_counter.  Async-signal-safe. */
void barrier_count(int which);

/* The fail-fast of region_page_acquire (barrier.c): page p's record byte (value v)
 * stayed BUSY longer than bound_ns.  One message on stderr, then the process ends.
 * Async-signal-safe (design .sol.busy.bound). */
_Noreturn void barrier_fail_busy(struct region *r, size_t p, unsigned v, int64_t bound_ns);

/* In a forked child (prot.c's pthread_atfork handler): no mutator is parked there, and
 * no barrier thread waits (design .sol.fork). */
void barrier_after_fork_child(void);

#endif /* MPSPROT_REGION_H */
