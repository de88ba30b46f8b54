/* fault_ring.h -- the sampled fault-event ring, the handler's side
 * (docs/design/fault.md .ring; the API that drains it is in mpsprot.h)
 *
 * Handler-inside code: fault_ring_begin and fault_ring_push run inside the fault handler
 * (barrier.c, protsg_posix.c, protsg_windows.c) and are async-signal-safe: they touch
 * only a fixed static array and atomic words, call nothing but the monotonic clock of
 * osdep.h (clock_gettime / QueryPerformanceCounter), never wait and never allocate. */
#ifndef MPSPROT_FAULT_RING_H
#define MPSPROT_FAULT_RING_H

#include <stdint.h>

/* Whether this fault is to be recorded: sampling is on and it is this fault's turn of
 * the period.  If so, *t0 = the clock now (the fault's time) and it returns 1.  Off,
 * it costs one relaxed atomic load. */
int fault_ring_begin(int64_t *t0);

/* Records one fault that fault_ring_begin took (t0 its time); the duration is from t0
 * to now.  access: MPSPROT_ACCESS_* or 0 when unknown; policy: MPSPROT_POLICY_* (0 for
 * a fault passed on); resolution: MPSPROT_FAULT_*; slot -1 when the fault is not in a
 * region; tid 0: the calling thread's.  A full ring drops the record and counts it. */
void fault_ring_push(int64_t t0, uint64_t address, int32_t tid, int32_t slot, int access,
                     int policy, int resolution);

/* In a forked child (prot.c's atfork handler): records a parent thread was writing
 * would never be published, and would stop every drain there; start empty. */
void fault_ring_after_fork_child(void);

#endif /* MPSPROT_FAULT_RING_H */
