/* protsg_windows.c -- the fault handler for Windows (MPS: protw3.c), ProtSetup's
 * native half
 *
 * Assumes Windows XP or later for vectored exception handling (tested under Wine 8).
 *
 * mpsprot_setup adds one vectored exception handler, first in line
 * (AddVectoredExceptionHandler(1, ...)), so that it sees a fault before any other
 * vectored handler and before every frame-based (SEH) handler, the JVM's included
 * (.os.windows.veh).  An exception is the module's when all of these hold:
 *   - its code is EXCEPTION_ACCESS_VIOLATION with at least two parameters;
 *   - ExceptionInformation[1], the address, lies in a live region's mutator view;
 *   - ExceptionInformation[0] is 0 (read) or 1 (write): 8 (an instruction fetch, DEP)
 *     is never the module's, which never grants execute (prmc says PRMC_NOT_DATA).
 * The module then resolves it (barrier.c) and the handler answers
 * EXCEPTION_CONTINUE_EXECUTION: the thread resumes with the CONTEXT record, which a
 * STEP may have changed.  Everything else gets EXCEPTION_CONTINUE_SEARCH with the
 * records untouched: Windows itself passes the exception to the next handler, so unlike
 * POSIX signals there is nothing to chain by hand (.rule.chain holds by construction).
 * Access violations passed on are counted as MPSPROT_COUNT_CHAINED, and recorded in the
 * fault ring while it samples (fault_ring.h: atomics and the clock, no lock, no wait).
 *
 * The handler keeps the thread's last-error value (GetLastError) as it found it, as the
 * Linux handler keeps errno.  It runs on the faulting thread's stack; the path that is
 * not the module's uses a few words of it (a stack overflow is
 * EXCEPTION_STACK_OVERFLOW and returns at the first test).
 */
#include "fault_ring.h"
#include "mpsprot.h"
#include "osdep.h"
#include "protos.h"
#include "region.h"

#include <errno.h>

static void *handler_handle;
static _Atomic int installed;
static osdep_mutex setup_lock = OSDEP_MUTEX_INIT;

static LONG CALLBACK handler(EXCEPTION_POINTERS *ep) {
  EXCEPTION_RECORD *er = ep->ExceptionRecord;
  if (er->ExceptionCode != EXCEPTION_ACCESS_VIOLATION || er->NumberParameters < 2)
    return EXCEPTION_CONTINUE_SEARCH;
  DWORD saved = GetLastError();
  int slot = region_pin((uintptr_t)er->ExceptionInformation[1]);
  if (slot >= 0 && barrier_fault(slot, er, ep->ContextRecord)) {
    SetLastError(saved);
    return EXCEPTION_CONTINUE_EXECUTION;
  }
  barrier_count(MPSPROT_COUNT_CHAINED);
  int64_t t0;
  if (fault_ring_begin(&t0)) /* fault_ring.h: atomics and the clock only */
    fault_ring_push(t0, (uint64_t)er->ExceptionInformation[1], 0, -1, 0, 0,
                    MPSPROT_FAULT_CHAINED);
  SetLastError(saved);
  return EXCEPTION_CONTINUE_SEARCH;
}

int mpsprot_setup(void) {
  if (protos_page_size() <= 0)
    return ENOSYS;
  if (atomic_load_explicit(&installed, memory_order_acquire))
    return 0;
  int err = osdep_init();
  if (err != 0)
    return err;
  osdep_mutex_lock(&setup_lock);
  if (!atomic_load_explicit(&installed, memory_order_relaxed)) {
    handler_handle = AddVectoredExceptionHandler(1, handler);
    if (handler_handle == NULL)
      err = ENOMEM; /* documented to fail only when out of memory */
    else
      atomic_store_explicit(&installed, 1, memory_order_release);
  }
  osdep_mutex_unlock(&setup_lock);
  return err;
}

int mpsprot_handler_installed(void) {
  return atomic_load_explicit(&installed, memory_order_acquire);
}

/* Removes the handler.  EBUSY while a region is live (its faults would then kill the
 * process), as on POSIX.  Other vectored handlers are independent of ours: removing ours
 * never removes or reorders them, so POSIX's EEXIST (another handler installed over
 * ours) never occurs here; EINVAL if Windows refuses the removal.  Nested exceptions need
 * nothing here either: a vectored handler masks nothing, so a fault raised while one runs
 * is dispatched like any other (docs/design/fault.md .handler.nest). */
int mpsprot_uninstall(void) {
  int err = 0;
  osdep_mutex_lock(&setup_lock);
  region_table_lock();
  if (mpsprot_region_count() != 0) {
    err = EBUSY;
  } else if (atomic_load_explicit(&installed, memory_order_relaxed)) {
    if (RemoveVectoredExceptionHandler(handler_handle) == 0) {
      err = EINVAL;
    } else {
      handler_handle = NULL;
      atomic_store_explicit(&installed, 0, memory_order_release);
    }
  }
  region_table_unlock();
  osdep_mutex_unlock(&setup_lock);
  return err;
}
