/* prot_darwin.c -- the macOS half of the OS seam (protos.h): protos_shared_fd; the rest
 * of the seam (page size, the twin mapping, protection changes) is prot_posix.c
 *
 * NOT VERIFIED HERE: written from Apple's documentation and headers, never compiled on
 * the project's machines; the macOS workflow (.github/workflows/macos.yml) builds and
 * tests it.
 *
 * Assumes macOS 10.12 or later.  macOS has no memfd, so a region's memory is a POSIX
 * shared-memory object: shm_open with a name unique to this process and
 * O_CREAT | O_EXCL, unlinked at once (so nothing outlives the process and no other
 * process can open it); prot_posix.c then sizes it with ftruncate, maps it twice and
 * closes it.  mach_vm_remap of an anonymous mapping would do as well but ties the alias
 * to Mach VM calls, while shm keeps the twin mapping the Linux one with another way to
 * get the fd.  shm_open's name is limited to PSHMNAMLEN (31) characters:
 * "/mpsprot.<pid>.<n>" fits.
 */
#include "protos.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static _Atomic unsigned shm_counter;

int protos_shared_fd(int *fd) {
  int saved = errno, err = EEXIST;
  for (int attempt = 0; attempt < 16; attempt++) {
    char name[32];
    snprintf(name, sizeof name, "/mpsprot.%d.%u", (int)getpid(),
             atomic_fetch_add(&shm_counter, 1));
    *fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (*fd >= 0) {
      shm_unlink(name);
      err = 0;
      break;
    }
    err = errno;
    if (err != EEXIST) /* EEXIST: a stale name of an earlier process with our pid: next */
      break;
  }
  errno = saved;
  return err;
}
