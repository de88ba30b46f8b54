/* fault_ring.c -- the sampled fault-event ring (docs/design/fault.md .ring)
 *
 * A bounded multi-producer, multi-consumer queue of fixed records (mpmc.h, as the STEP
 * log of barrier.c): producers are fault handlers on any thread, consumers the Java
 * drain (mpsprot_fault_ring_drain).  Static, zeroed memory is an empty ring.
 *
 * Handler-inside (fault_ring.h): fault_ring_begin and fault_ring_push are called from
 * the fault handler and may call only atomics and osdep_now_ns / osdep_thread_id (a
 * clock read and gettid: async-signal-safe); no allocation, no lock, no wait.  A
 * producer reserves a cell with one CAS on head (retried only when another producer
 * won it), fills it and publishes it with a release store.  A ring with no free cell
 * drops the record and counts it in `dropped` (the record is an observation: dropping
 * it loses nothing of the fault's resolution, which the counters also count).  A
 * producer is never interrupted by a signal handler while it holds a cell (the
 * handler blocks asynchronous signals, fault.md .handler.nest), and a drain never
 * waits for a cell being filled: it stops there and the next drain takes it.
 */
#include "fault_ring.h"

#include "mpmc.h"
#include "mpsprot.h"
#include "osdep.h"

#include <stdatomic.h>
#include <stddef.h>

#define RING_MASK ((uint64_t)MPSPROT_FAULT_RING_CAPACITY - 1)
#define RING_CELLS ring.cells, sizeof(struct ring_cell), RING_MASK

struct ring_record {
  uint64_t address;
  int64_t time_ns;
  int64_t duration_ns;
  int32_t tid;
  int32_t slot;
  uint32_t kind; /* access | policy << 8 | resolution << 16 */
};

struct ring_cell {
  _Atomic uint64_t seq;
  struct ring_record rec;
};
_Static_assert(offsetof(struct ring_cell, seq) == 0, "mpmc.h: a cell begins with seq");
_Static_assert((MPSPROT_FAULT_RING_CAPACITY & (MPSPROT_FAULT_RING_CAPACITY - 1)) == 0,
               "the ring capacity is a power of two");

static struct {
  _Atomic uint64_t head; /* next position to fill */
  char pad1[56];
  _Atomic uint64_t tail; /* next position to drain */
  char pad2[56];
  struct ring_cell cells[MPSPROT_FAULT_RING_CAPACITY];
} ring;

static _Atomic int period;      /* 0: off */
static _Atomic uint64_t tick;   /* faults seen while on, for the sampling period */
static _Atomic int64_t dropped; /* records dropped because the ring was full */

int fault_ring_begin(int64_t *t0) {
  int n = atomic_load_explicit(&period, memory_order_relaxed);
  if (n == 0)
    return 0;
  if (n > 1 && atomic_fetch_add_explicit(&tick, 1, memory_order_relaxed) % (uint64_t)n != 0)
    return 0;
  *t0 = osdep_now_ns();
  return 1;
}

void fault_ring_push(int64_t t0, uint64_t address, int32_t tid, int32_t slot, int access,
                     int policy, int resolution) {
  int64_t now = osdep_now_ns();
  uint64_t at;
  if (!mpmc_reserve(&ring.head, RING_CELLS, &at)) {
    atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed); /* full: drop, count */
    return;
  }
  struct ring_cell *c = &ring.cells[at & RING_MASK];
  c->rec.address = address;
  c->rec.time_ns = t0;
  c->rec.duration_ns = now - t0;
  c->rec.tid = tid != 0 ? tid : osdep_thread_id();
  c->rec.slot = slot;
  c->rec.kind = (uint32_t)(access & 0xff) | (uint32_t)(policy & 0xff) << 8
                | (uint32_t)(resolution & 0xff) << 16;
  mpmc_publish(RING_CELLS, at);
}

void fault_ring_after_fork_child(void) {
  atomic_store_explicit(&ring.head, 0, memory_order_relaxed);
  atomic_store_explicit(&ring.tail, 0, memory_order_relaxed);
  for (size_t i = 0; i < MPSPROT_FAULT_RING_CAPACITY; i++)
    atomic_store_explicit(&ring.cells[i].seq, 0, memory_order_relaxed);
}

/* ---- Outside the handler ------------------------------------------------------------ */

int mpsprot_fault_ring_sample(int n) {
  if (n < 0)
    return -1;
  return atomic_exchange_explicit(&period, n, memory_order_relaxed);
}

int64_t mpsprot_fault_ring_dropped(void) {
  return atomic_load_explicit(&dropped, memory_order_relaxed);
}

int mpsprot_fault_ring_drain(int64_t *out, int max) {
  if (out == NULL)
    return max > 0 ? -1 : 0;
  int n = 0;
  uint64_t at;
  /* Stops when empty, or at a record still being written: never waits for it. */
  while (n < max && mpmc_take(&ring.tail, RING_CELLS, &at)) {
    struct ring_record r = ring.cells[at & RING_MASK].rec; /* ours until released */
    int64_t *o = out + (size_t)n * MPSPROT_FAULT_RING_WORDS;
    o[0] = (int64_t)r.address;
    o[1] = r.time_ns;
    o[2] = r.duration_ns;
    o[3] = r.tid;
    o[4] = r.slot;
    o[5] = (int64_t)r.kind;
    n++;
    mpmc_release(RING_CELLS, at);
  }
  return n;
}
