/* mpmc.h -- the bounded multi-producer, multi-consumer queue (Vyukov's) that both the
 * STEP access log (region.h, barrier.c) and the fault-event ring (fault_ring.c) use
 *
 * A queue is a head (next position to fill), a tail (next position to drain) and a
 * power-of-two array of cells, each of which begins with an _Atomic uint64_t seq word;
 * `stride` is the cell's size and `mask` the capacity - 1.  A cell's logical sequence
 * number is its seq word plus its index, so that zeroed memory is a valid empty queue.
 * A producer reserves a position (one CAS on head, retried only when another producer
 * won it), fills the cell and publishes it; a consumer takes a published position (one
 * CAS on tail), copies the cell and releases it for the next lap.  Nobody waits: a full
 * queue refuses the reservation, and a take stops at a cell still being filled.
 *
 * Handler-inside: static inline, C11 atomics only (no call, no lock, no allocation), so
 * the fault handler may reserve and publish (fault.md .handler.safe).
 */
#ifndef MPSPROT_MPMC_H
#define MPSPROT_MPMC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

static inline _Atomic uint64_t *mpmc_seq(void *cells, size_t stride, uint64_t at, uint64_t mask) {
  return (_Atomic uint64_t *)(void *)((char *)cells + (size_t)(at & mask) * stride);
}

/* Claims position *at of `end` (head to fill, or tail to drain) once its cell's logical
 * sequence number is *at + ready (0: empty, for a producer; 1: published, for a
 * consumer).  1 with *at the position claimed; 0 when the cell is not ready (the queue
 * is full, or empty, or the next cell is still being filled). */
static inline int mpmc_claim(_Atomic uint64_t *end, void *cells, size_t stride, uint64_t mask,
                             uint64_t ready, uint64_t *at) {
  uint64_t pos = atomic_load_explicit(end, memory_order_relaxed);
  for (;;) {
    uint64_t seq = atomic_load_explicit(mpmc_seq(cells, stride, pos, mask), memory_order_acquire)
                   + (pos & mask);
    int64_t dif = (int64_t)(seq - (pos + ready));
    if (dif == 0) {
      if (atomic_compare_exchange_weak_explicit(end, &pos, pos + 1, memory_order_relaxed,
                                                memory_order_relaxed)) {
        *at = pos;
        return 1;
      }
    } else if (dif < 0) {
      return 0;
    } else {
      pos = atomic_load_explicit(end, memory_order_relaxed);
    }
  }
}

/* A producer's reservation of the next cell to fill: 1 and its position, or 0 if full. */
static inline int mpmc_reserve(_Atomic uint64_t *head, void *cells, size_t stride, uint64_t mask,
                               uint64_t *at) {
  return mpmc_claim(head, cells, stride, mask, 0, at);
}

/* Publishes the filled cell of position at to consumers. */
static inline void mpmc_publish(void *cells, size_t stride, uint64_t mask, uint64_t at) {
  atomic_store_explicit(mpmc_seq(cells, stride, at, mask), at + 1 - (at & mask),
                        memory_order_release);
}

/* A consumer's claim of the next published cell: 1 and its position, or 0 if there is
 * none (empty, or the next cell is still being filled: never wait for it). */
static inline int mpmc_take(_Atomic uint64_t *tail, void *cells, size_t stride, uint64_t mask,
                            uint64_t *at) {
  return mpmc_claim(tail, cells, stride, mask, 1, at);
}

/* Frees the cell of position at, once copied, for the producers' next lap. */
static inline void mpmc_release(void *cells, size_t stride, uint64_t mask, uint64_t at) {
  atomic_store_explicit(mpmc_seq(cells, stride, at, mask), at + (mask + 1) - (at & mask),
                        memory_order_release);
}

#endif /* MPSPROT_MPMC_H */
