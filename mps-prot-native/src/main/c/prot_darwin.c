/* prot_darwin.c -- the OS seam (protos.h) for macOS (x86-64 and arm64)
 *
 * NOT VERIFIED HERE: written from Apple's documentation and headers, never compiled on
 * the project's machines; the macOS workflow (.github/workflows/macos.yml) builds and
 * tests it.
 *
 * Assumes macOS 10.12 or later.  The page size is sysconf(_SC_PAGESIZE): 16 KiB for an
 * arm64 process on Apple silicon, 4 KiB for an x86-64 process (also under Rosetta);
 * never assumed.
 *
 * A region is one POSIX shared-memory object mapped twice with MAP_SHARED (Appel and
 * Li's MAP2, design .sol.alias): shm_open with a name unique to this process and
 * O_CREAT | O_EXCL, unlinked at once (so nothing outlives the process and no other
 * process can open it), sized with ftruncate, mapped twice, closed.  macOS has no memfd;
 * mach_vm_remap of an anonymous mapping would do as well but ties the alias to Mach VM
 * calls, while shm keeps this file the Linux file with another way to get the fd.
 * shm_open's name is limited to PSHMNAMLEN (31) characters: "/mpsprot.<pid>.<n>" fits.
 *
 * protos_set is mprotect: EMPTY -> PROT_READ | PROT_WRITE, {WRITE} -> PROT_READ, {READ}
 * and both -> PROT_NONE; never PROT_EXEC (.rule.noexec), so the W^X rules of Apple
 * silicon (MAP_JIT, pthread_jit_write_protect_np) never apply to these pages
 * (docs/design/os.md .os.darwin.wx).  mprotect is async-signal-safe.
 */
#include "mpsprot.h"
#include "osdep.h"
#include "protos.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

static _Atomic unsigned shm_counter;

/* A fresh, already unlinked shared-memory object; -1 and errno on failure. */
static int anonymous_shm(void) {
  for (int attempt = 0; attempt < 16; attempt++) {
    char name[32];
    snprintf(name, sizeof name, "/mpsprot.%d.%u", (int)getpid(),
             atomic_fetch_add(&shm_counter, 1));
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
      shm_unlink(name);
      return fd;
    }
    if (errno != EEXIST) /* a stale name of an earlier process with our pid: next */
      return -1;
  }
  errno = EEXIST;
  return -1;
}

int protos_map_twin(size_t size, uintptr_t *base, uintptr_t *alias, int *stage) {
  int saved = errno, err = 0;
  int fd = anonymous_shm();
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
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
  errno = saved;
  return p == MAP_FAILED ? NULL : p;
}

void protos_free(void *p, size_t bytes) {
  int saved = errno;
  munmap(p, bytes);
  errno = saved;
}

/* The Linux backends' probes: not on macOS. */
int mpsprot_probe_uffd_wp_async(int64_t *detail) {
  if (detail != NULL)
    *detail = 0;
  return ENOSYS;
}

int mpsprot_probe_soft_dirty(int64_t *detail) {
  if (detail != NULL)
    *detail = 0;
  return ENOSYS;
}
