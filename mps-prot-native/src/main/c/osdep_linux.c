/* osdep_linux.c -- the part of the OS seam (osdep.h) for Linux that cannot be inline
 *
 * Assumes GCC or clang on glibc: initial-exec TLS is reserved in the static TLS block
 * when the library is loaded (dlopen included), so no thread ever allocates it on first
 * touch and the fault handler may read and write it (design .sol.tls).  Everything else
 * of the Linux seam is inline in osdep.h.
 */
#include "osdep.h"

__thread uintptr_t osdep_tls[OSDEP_TLS_N] __attribute__((tls_model("initial-exec")));

int osdep_init(void) { return 0; }
