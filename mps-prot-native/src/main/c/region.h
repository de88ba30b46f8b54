/* region.h -- the shim's table of live regions
 *
 * A fixed array of slots, so that the signal handler can find the region of a fault
 * address without locks or allocation (design .sol.lookup).  Creation and destruction
 * take a mutex (never from the handler); lookup is lock-free:
 * - a slot's fields are written before its state is published LIVE (release store) and
 *   read only after a LIVE state was seen (acquire load);
 * - a lookup that will touch the slot's memory pins it (users + 1) and re-checks LIVE;
 *   destruction publishes DEAD, then waits until users is 0 before unmapping, so a
 *   handler never touches unmapped bookkeeping.
 */
#ifndef MPSPROT_REGION_H
#define MPSPROT_REGION_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "mpsprot.h"
#include "osdep.h"

enum region_state { REGION_FREE = 0, REGION_LIVE = 1, REGION_DEAD = 2 };

/* The record byte of a page (design .sol.harvest, the BUSY protocol): bits 0-1 hold
 * the AccessSet last applied; REGION_BUSY is set while one thread changes the page's
 * protection.  Whoever changes a page's protection (the handler opening it,
 * mpsprot_harvest re-protecting it, mpsprot_protect) first CASes the byte from a
 * value without BUSY to value|BUSY (yielding while another holds it), then calls
 * mprotect, then stores the new AccessSet (release).  Readers outside the shim mask
 * the byte with MPSPROT_ACCESS_ALL. */
#define REGION_BUSY 0x80u

/* The STEP policy's access log: a bounded multi-producer, multi-consumer queue
 * (Vyukov's), lock-free for producers (the handler) and never waiting on them.
 * A cell's logical sequence number is seq + its index, so that zeroed memory is a
 * valid empty queue (no page of it is touched before the log is used). */
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
 * until it sets BUSY over a value without it and returns that value (an AccessSet), or,
 * after 10 s of BUSY by the monotonic clock, fails fast (barrier_fail_busy; design
 * .sol.busy.bound);
 * region_page_release stores mode (without BUSY) with release order.
 * Async-signal-safe. */
unsigned region_page_acquire(struct region *r, size_t p);
void region_page_release(struct region *r, size_t p, unsigned mode);

/* Re-applies the recorded AccessSet of pages [first, last) run by run (the caller holds
 * BUSY on them); 1 if an mprotect failed, else 0.  Used after a failed change. */
int region_restore_runs(struct region *r, size_t first, size_t last);

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
