/* maps_windows.c -- the maps seam (osmaps.h) for Windows: VirtualQuery
 *
 * Assumes Windows 8+ (tested under Wine 8).  Windows has no list of every mapping; the
 * seam walks [lo, hi) with mpsprot_query (prot_windows.c: one VirtualQuery per run of
 * pages sharing state and protection) and reports the committed runs, clipped to
 * [lo, hi) (they are not the OS's whole allocations, which a caller of osmaps_scan never
 * needs).  VirtualQuery names no section, so no entry is identified: ProtSync on Windows
 * reports pages that are not committed as unmapped and cannot tell replaced memory.
 */
#include "mpsprot.h"
#include "osmaps.h"

#include <errno.h>

int osmaps_scan(uintptr_t lo, uintptr_t hi, osmaps_fn fn, void *arg) {
  uintptr_t at = lo;
  while (at < hi) {
    int64_t q[4];
    int err = mpsprot_query((int64_t)at, q);
    if (err != 0)
      return err;
    uintptr_t end = (uintptr_t)q[0] + (uintptr_t)q[1];
    if (end <= at)
      return EIO; /* an answer that does not move forward: never loop on it */
    if (end > hi)
      end = hi;
    if (q[2] != 0) {
      struct osmaps_entry e = {.start = at, .end = end, .perms = (int)q[3], .identified = 0};
      int stop = fn(arg, &e);
      if (stop != 0)
        return stop;
    }
    at = end;
  }
  return 0;
}

int osmaps_identifies(void) { return 0; }
