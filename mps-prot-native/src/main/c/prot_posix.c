/* prot_posix.c -- the OS seam (protos.h) for Linux and macOS (docs/design/os.md
 * .os.posix)
 *
 * Assumes POSIX mmap, munmap, mprotect, ftruncate and sysconf, and a shared-memory fd
 * from protos_shared_fd, the one step that differs between the two OSes: prot_linux.c
 * (memfd_create) and prot_darwin.c (an unlinked shm_open; NOT VERIFIED HERE) define it.
 *
 * The page size is sysconf(_SC_PAGESIZE), never assumed: 4 KiB for an x86-64 process
 * (also under Rosetta), 4, 16 or 64 KiB on aarch64 Linux, 16 KiB for an arm64 process on
 * Apple silicon.
 *
 * A region is that fd, sized with ftruncate, mapped twice with MAP_SHARED: the mutator's
 * view, whose protection protos_set changes, and the collector's alias view, which stays
 * read-write (Appel and Li's MAP2; design .sol.alias).  The fd is closed once both views
 * exist; the mappings keep the memory alive.
 *
 * protos_set is mprotect: EMPTY -> PROT_READ | PROT_WRITE, {WRITE} -> PROT_READ, {READ}
 * and both -> PROT_NONE (.if.set); never PROT_EXEC (.rule.noexec), so the W^X rules of
 * Apple silicon (MAP_JIT, pthread_jit_write_protect_np) never apply to these pages
 * (docs/design/os.md .os.darwin.wx).  mprotect is async-signal-safe.
 *
 * Bookkeeping memory (protos_alloc) is a private anonymous mapping, hence zeroed.
 */
#include "inject.h"
#include "mpsprot.h"
#include "protos.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/sysmacros.h> /* major, minor */
#endif

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON /* the older BSD name */
#endif

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
  int err = inject_fail(MPSPROT_INJECT_MPROTECT);
  if (err == 0 && mprotect((void *)base, len, prot_of(mode)) != 0)
    err = errno;
  errno = saved;
  return err;
}

int protos_map_twin(size_t size, uintptr_t *base, uintptr_t *alias, int *stage,
                    struct protos_id *id) {
  int saved = errno, fd = -1;
  id->known = 0;
  int err = protos_shared_fd(&fd);
  if (err != 0) {
    *stage = MPSPROT_STAGE_MEMFD;
    goto out;
  }
  if ((err = inject_fail(MPSPROT_INJECT_FTRUNCATE)) != 0 || ftruncate(fd, (off_t)size) != 0) {
    err = err != 0 ? err : errno;
    *stage = MPSPROT_STAGE_TRUNCATE;
    goto close_fd;
  }
  void *m = (err = inject_fail(MPSPROT_INJECT_MMAP)) != 0
                ? MAP_FAILED
                : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    err = err != 0 ? err : errno;
    *stage = MPSPROT_STAGE_MAP_MUTATOR;
    goto close_fd;
  }
  void *a = (err = inject_fail(MPSPROT_INJECT_MMAP)) != 0
                ? MAP_FAILED
                : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (a == MAP_FAILED) {
    err = err != 0 ? err : errno;
    *stage = MPSPROT_STAGE_MAP_ALIAS;
    munmap(m, size);
    goto close_fd;
  }
  *base = (uintptr_t)m;
  *alias = (uintptr_t)a;
  /* The identity /proc/self/maps prints for both views (ProtSync tells the region's pages
   * from memory mapped over them by it: design .sol.replaced). */
  struct stat st;
  if (fstat(fd, &st) == 0) {
    id->known = 1;
    id->dev_major = (uint64_t)major(st.st_dev);
    id->dev_minor = (uint64_t)minor(st.st_dev);
    id->ino = (uint64_t)st.st_ino;
  }
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

void protos_unmap(uintptr_t base, size_t len) {
  int saved = errno;
  munmap((void *)base, len);
  errno = saved;
}

void *protos_alloc(size_t bytes) {
  int saved = errno;
  void *p = inject_fail(MPSPROT_INJECT_MMAP) != 0
                ? MAP_FAILED
                : mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  errno = saved;
  return p == MAP_FAILED ? NULL : p;
}

void protos_free(void *p, size_t bytes) {
  int saved = errno;
  munmap(p, bytes);
  errno = saved;
}

/* mpsprot_query is VirtualQuery's stand-in for Windows (mpsprot.h); on Linux the Java
 * side reads /proc/self/maps, which reports every mapping at once, and macOS has no Java
 * side yet.  The function exists so that the API is the same on every OS. */
int mpsprot_query(int64_t addr, int64_t *out) {
  (void)addr;
  (void)out;
  return ENOSYS;
}
