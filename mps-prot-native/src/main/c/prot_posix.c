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
 * exist; the mappings keep the memory alive.  Both views and the region's bookkeeping lie
 * in one reservation with guard pages between them (protos_map_region, design
 * .sol.guard), marked MADV_DONTFORK where the OS has it (Linux; not macOS, where a
 * child still shares the views: design .sol.fork).
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

/* One mmap through the seam (inject.h); MAP_FAILED with *err set, or the mapping. */
static void *map(void *at, size_t len, int prot, int flags, int fd, int *err) {
  if ((*err = inject_fail(MPSPROT_INJECT_MMAP)) != 0)
    return MAP_FAILED;
  void *m = mmap(at, len, prot, flags, fd, 0);
  if (m == MAP_FAILED)
    *err = errno;
  return m;
}

/* The layout of a region's reservation (design .sol.guard), low to high addresses:
 *
 *   book | guard | mutator view | guard | alias view | guard
 *
 * book_len = book_bytes rounded up to the page, each guard one page.  Reserved first as
 * one PROT_NONE private mapping (MAP_NORESERVE: no memory, no commit charge), then the
 * views and the book are mapped over their parts with MAP_FIXED; what is left of the
 * reservation are the guards, never made accessible.  So a region costs six mappings
 * (three before the guards existed), plus the splits its protections make. */
static size_t book_len(size_t book_bytes) {
  size_t page = (size_t)protos_page_size();
  return (book_bytes + page - 1) / page * page;
}

static size_t reservation_len(size_t size, size_t book_bytes) {
  return book_len(book_bytes) + 3 * (size_t)protos_page_size() + 2 * size;
}

int protos_map_region(size_t size, size_t book_bytes, uintptr_t *base, uintptr_t *alias,
                      void **book, int *stage, struct protos_id *id) {
  int saved = errno, fd = -1, err;
  id->known = 0;
  size_t page = (size_t)protos_page_size(), total = reservation_len(size, book_bytes);
  void *res = map(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
                  &err);
  if (res == MAP_FAILED) {
    *stage = MPSPROT_STAGE_RESERVE;
    goto out;
  }
  uintptr_t b = (uintptr_t)res, m = b + book_len(book_bytes) + page, a = m + size + page;
  if ((err = protos_shared_fd(&fd)) != 0) {
    *stage = MPSPROT_STAGE_MEMFD;
    goto unmap;
  }
  if ((err = inject_fail(MPSPROT_INJECT_FTRUNCATE)) != 0 || ftruncate(fd, (off_t)size) != 0) {
    err = err != 0 ? err : errno;
    *stage = MPSPROT_STAGE_TRUNCATE;
    goto unmap;
  }
  if (map((void *)m, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, &err)
      == MAP_FAILED) {
    *stage = MPSPROT_STAGE_MAP_MUTATOR;
    goto unmap;
  }
  if (map((void *)a, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, &err)
      == MAP_FAILED) {
    *stage = MPSPROT_STAGE_MAP_ALIAS;
    goto unmap;
  }
  if (map((void *)b, book_len(book_bytes), PROT_READ | PROT_WRITE,
          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, &err) == MAP_FAILED) {
    *stage = MPSPROT_STAGE_RECORD;
    goto unmap;
  }
#if defined(MADV_DONTFORK)
  /* Not inherited by a child (design .sol.fork): the views, the book and the guards.
   * A failure goes through the mmap site of the seam: it is part of mapping the region. */
  err = inject_fail(MPSPROT_INJECT_MMAP);
  if (err == 0 && madvise(res, total, MADV_DONTFORK) != 0)
    err = errno;
  if (err != 0) {
    *stage = MPSPROT_STAGE_NOFORK;
    goto unmap;
  }
#endif
  *base = m;
  *alias = a;
  *book = (void *)b;
  /* The identity /proc/self/maps prints for both views (ProtSync tells the region's pages
   * from memory mapped over them by it: design .sol.replaced). */
  struct stat st;
  if (fstat(fd, &st) == 0) {
    id->known = 1;
    id->dev_major = (uint64_t)major(st.st_dev);
    id->dev_minor = (uint64_t)minor(st.st_dev);
    id->ino = (uint64_t)st.st_ino;
  }
  err = 0;
  goto close_fd;
unmap:
  munmap(res, total); /* the views and the book lie inside: all of it goes */
close_fd:
  if (fd >= 0)
    close(fd);
out:
  errno = saved;
  return err;
}

void protos_unmap_region(uintptr_t base, uintptr_t alias, size_t size, void *book,
                         size_t book_bytes) {
  (void)base, (void)alias;
  int saved = errno;
  munmap(book, reservation_len(size, book_bytes)); /* the reservation starts at the book */
  errno = saved;
}

void protos_unmap_frame(uintptr_t base, uintptr_t alias, size_t size, void *book,
                        size_t book_bytes) {
  (void)book_bytes;
  int saved = errno;
  size_t page = (size_t)protos_page_size();
  munmap(book, base - (uintptr_t)book);              /* the book and the first guard */
  munmap((void *)(base + size), alias - (base + size)); /* the guard between the views */
  munmap((void *)(alias + size), page);              /* the last guard */
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
