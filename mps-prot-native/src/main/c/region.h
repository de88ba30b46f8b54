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

enum region_state { REGION_FREE = 0, REGION_LIVE = 1, REGION_DEAD = 2 };

struct region {
  _Atomic int state;
  _Atomic int users;
  uintptr_t base;   /* mutator view, inclusive */
  uintptr_t limit;  /* mutator view, exclusive */
  uintptr_t alias;  /* collector view of the same pages */
  size_t pages;
  _Atomic unsigned char *record; /* AccessSet last applied, one byte per page */
};

extern struct region region_table[];

/* The slot holding addr, pinned (release it with region_unpin), or -1. */
int region_pin(uintptr_t addr);
void region_unpin(int slot);

#endif /* MPSPROT_REGION_H */
