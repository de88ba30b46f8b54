/* prot_linux.c -- the Linux half of the OS seam (protos.h): protos_shared_fd; the rest
 * of the seam (page size, the twin mapping, protection changes) is prot_posix.c
 *
 * Assumes Linux 3.17+ for memfd_create and glibc 2.27+ for its wrapper.  A region's
 * memory is one memfd: anonymous (it has no name in any file system, so no other
 * process can open it), gone when its last mapping and fd are, and close-on-exec while
 * prot_posix.c holds it.
 */
#include "inject.h"
#include "protos.h"

#include <errno.h>
#include <sys/mman.h>

int protos_shared_fd(int *fd) {
  int saved = errno;
  int err = inject_fail(MPSPROT_INJECT_MEMFD);
  *fd = err != 0 ? -1 : memfd_create("mpsprot", MFD_CLOEXEC);
  if (err == 0 && *fd < 0)
    err = errno;
  errno = saved;
  return err;
}
