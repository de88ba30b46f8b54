/* maps_darwin.c -- the maps seam (osmaps.h) for macOS: not implemented
 *
 * macOS has no /proc; mach_vm_region could answer (NOT VERIFIED HERE: no Mac on the
 * project's machines), so the seam answers ENOSYS and ProtSync and the record's adoption
 * take their documented fallbacks (design .sol.restore).
 */
#include "osmaps.h"

#include <errno.h>

int osmaps_scan(uintptr_t lo, uintptr_t hi, osmaps_fn fn, void *arg) {
  (void)lo;
  (void)hi;
  (void)fn;
  (void)arg;
  return ENOSYS;
}

int osmaps_identifies(void) { return 0; }
