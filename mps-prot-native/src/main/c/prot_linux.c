/* prot_linux.c -- the OS seam (protos.h) for Linux
 *
 * Assumes Linux 3.17+ for memfd_create and glibc 2.27+ for its wrapper.  A region is
 * one memfd mapped twice with MAP_SHARED: the mutator's view, whose protection
 * protos_set changes, and the collector's alias view, which stays read-write
 * (Appel and Li's MAP2; design .sol.alias).  The fd is closed once both views exist;
 * the mappings keep the memory alive.
 */
#include "mpsprot.h"
#include "protos.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

int64_t protos_page_size(void) {
  static int64_t cached; /* racy but idempotent: every thread computes the same value */
  if (cached == 0)
    cached = (int64_t)sysconf(_SC_PAGESIZE);
  return cached;
}

static int prot_of(int mode) {
  if (mode & MPSPROT_ACCESS_READ)
    return PROT_NONE; /* forbidding reads forbids writes too: .if.set */
  if (mode & MPSPROT_ACCESS_WRITE)
    return PROT_READ;
  return PROT_READ | PROT_WRITE; /* never PROT_EXEC: .rule.noexec */
}

int protos_set(uintptr_t base, size_t len, int mode) {
  int saved = errno;
  int err = mprotect((void *)base, len, prot_of(mode)) == 0 ? 0 : errno;
  errno = saved;
  return err;
}

int protos_map_twin(size_t size, uintptr_t *base, uintptr_t *alias, int *stage) {
  int saved = errno, err = 0;
  int fd = memfd_create("mpsprot", MFD_CLOEXEC);
  if (fd < 0) {
    err = errno;
    *stage = MPSPROT_STAGE_MEMFD;
    goto out;
  }
  if (ftruncate(fd, (off_t)size) != 0) {
    err = errno;
    *stage = MPSPROT_STAGE_TRUNCATE;
    goto close_fd;
  }
  void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    err = errno;
    *stage = MPSPROT_STAGE_MAP_MUTATOR;
    goto close_fd;
  }
  void *a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (a == MAP_FAILED) {
    err = errno;
    *stage = MPSPROT_STAGE_MAP_ALIAS;
    munmap(m, size);
    goto close_fd;
  }
  *base = (uintptr_t)m;
  *alias = (uintptr_t)a;
close_fd:
  close(fd);
out:
  errno = saved;
  return err;
}

void protos_unmap_twin(uintptr_t base, uintptr_t alias, size_t size) {
  int saved = errno;
  munmap((void *)base, size);
  munmap((void *)alias, size);
  errno = saved;
}

void *protos_alloc(size_t bytes) {
  int saved = errno;
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  errno = saved;
  return p == MAP_FAILED ? NULL : p;
}

void protos_free(void *p, size_t bytes) {
  int saved = errno;
  munmap(p, bytes);
  errno = saved;
}
