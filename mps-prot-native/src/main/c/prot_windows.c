/* prot_windows.c -- the OS seam (protos.h) for Windows
 *
 * Assumes Windows (x86-64; tested under Wine 8), built with mingw-w64.
 *
 * The page size is GetSystemInfo's dwPageSize (4 KiB on x86-64), never assumed.  Views
 * of a section are placed at the allocation granularity (dwAllocationGranularity,
 * 64 KiB), so a region's two views each start on a 64 KiB boundary; the region size
 * itself need only be a multiple of the page size (the rest of the last 64 KiB block is
 * reserved and inaccessible, never part of the region).
 *
 * A region is a pagefile-backed section (CreateFileMapping on INVALID_HANDLE_VALUE,
 * SEC_COMMIT: the whole size is charged to the commit limit at once, and zeroed) mapped
 * twice with MapViewOfFile(FILE_MAP_READ | FILE_MAP_WRITE): the mutator's view, whose
 * protection protos_set changes, and the collector's alias view, which stays read-write
 * (Appel and Li's MAP2; design .sol.alias).  The section handle is closed once both
 * views exist: the views keep the memory alive.
 *
 * protos_set is VirtualProtect on the mutator's view: EMPTY -> PAGE_READWRITE,
 * {WRITE} -> PAGE_READONLY, {READ} and {READ, WRITE} -> PAGE_NOACCESS (.if.set); never
 * an execute permission (.rule.noexec).  A view mapped with FILE_MAP_WRITE accepts all
 * three.  VirtualProtect is a plain system call, safe inside the vectored exception
 * handler.
 *
 * Errors: GetLastError codes become errno values through osdep_errno_of (the table is
 * in osdep_windows.c and docs/design/os.md .os.windows.errors); the raw code of the last
 * failure on the calling thread is mpsprot_win_last_error().  The region-creation
 * stages keep their Linux names: MPSPROT_STAGE_MEMFD is CreateFileMapping,
 * MPSPROT_STAGE_MAP_MUTATOR and _MAP_ALIAS are the two MapViewOfFile calls,
 * MPSPROT_STAGE_RECORD is the bookkeeping VirtualAlloc; MPSPROT_STAGE_TRUNCATE never
 * happens (the section has its size from the start).
 *
 * mpsprot_query (ProtSync's source on Windows: WindowsProtOs.mappings()) is one
 * VirtualQuery: the run of pages from the queried page forward that share state and
 * protection, whether it is committed, and the accesses its protection permits.
 *
 * Bookkeeping memory (protos_alloc) is VirtualAlloc(MEM_RESERVE | MEM_COMMIT,
 * PAGE_READWRITE): zeroed; its pages are charged to the commit limit but only backed
 * when touched.
 */
#include "mpsprot.h"
#include "osdep.h"
#include "protos.h"

#include <errno.h>

static _Atomic int64_t page_size;

int64_t protos_page_size(void) {
  int64_t p = atomic_load_explicit(&page_size, memory_order_relaxed);
  if (p == 0) { /* racy but idempotent: every thread computes the same value */
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    p = (int64_t)si.dwPageSize;
    atomic_store_explicit(&page_size, p, memory_order_relaxed);
  }
  return p;
}

static DWORD prot_of(int mode) {
  if (mode & MPSPROT_ACCESS_READ)
    return PAGE_NOACCESS; /* forbidding reads forbids writes too: .if.set */
  if (mode & MPSPROT_ACCESS_WRITE)
    return PAGE_READONLY;
  return PAGE_READWRITE; /* never PAGE_EXECUTE_*: .rule.noexec */
}

int protos_set(uintptr_t base, size_t len, int mode) {
  DWORD saved = GetLastError(), old;
  int err = 0;
  if (!VirtualProtect((void *)base, len, prot_of(mode), &old))
    err = osdep_errno_of(GetLastError());
  SetLastError(saved);
  return err;
}

/* A region (design .sol.guard): the section is one page longer than the region, and
 * that last page of each view is made PAGE_NOACCESS at once and never made accessible:
 * the guard after each view.  The bookkeeping is a VirtualAlloc of its own; a view
 * starts on a 64 KiB boundary, so nothing of the bookkeeping lies just before a view
 * unless an allocation ends exactly there, and an overrun of a view meets its guard
 * first.  Windows has no fork (design .sol.fork does not apply). */
int protos_map_region(size_t size, size_t book_bytes, uintptr_t *base, uintptr_t *alias,
                      void **book, int *stage, struct protos_id *id) {
  DWORD saved = GetLastError(), old;
  id->known = 0; /* VirtualQuery names no section: ProtSync cannot tell replaced pages */
  int err = 0;
  size_t page = (size_t)protos_page_size();
  uint64_t s = (uint64_t)size + page;
  void *m = NULL, *a = NULL, *bk = NULL;
  HANDLE h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE | SEC_COMMIT,
                                (DWORD)(s >> 32), (DWORD)(s & 0xffffffffu), NULL);
  if (h == NULL) {
    err = osdep_errno_of(GetLastError());
    *stage = MPSPROT_STAGE_MEMFD;
    goto out;
  }
  m = MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, (SIZE_T)s);
  if (m == NULL || !VirtualProtect((char *)m + size, page, PAGE_NOACCESS, &old)) {
    err = osdep_errno_of(GetLastError());
    *stage = MPSPROT_STAGE_MAP_MUTATOR;
    goto fail;
  }
  a = MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, (SIZE_T)s);
  if (a == NULL || !VirtualProtect((char *)a + size, page, PAGE_NOACCESS, &old)) {
    err = osdep_errno_of(GetLastError());
    *stage = MPSPROT_STAGE_MAP_ALIAS;
    goto fail;
  }
  bk = VirtualAlloc(NULL, book_bytes, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  if (bk == NULL) {
    err = osdep_errno_of(GetLastError());
    *stage = MPSPROT_STAGE_RECORD;
    goto fail;
  }
  *base = (uintptr_t)m;
  *alias = (uintptr_t)a;
  *book = bk;
  goto close_handle;
fail:
  if (m != NULL)
    UnmapViewOfFile(m);
  if (a != NULL)
    UnmapViewOfFile(a);
close_handle:
  CloseHandle(h);
out:
  SetLastError(saved);
  return err;
}

void protos_unmap_region(uintptr_t base, uintptr_t alias, size_t size, void *book,
                         size_t book_bytes) {
  (void)size, (void)book_bytes;
  DWORD saved = GetLastError();
  UnmapViewOfFile((void *)base);
  UnmapViewOfFile((void *)alias);
  VirtualFree(book, 0, MEM_RELEASE);
  SetLastError(saved);
}

/* Never called: the Windows maps seam (maps_windows.c) identifies no mapping, so no page
 * is ever marked foreign and destruction unmaps whole views (protos_unmap_region). */
void protos_unmap(uintptr_t base, size_t len) {
  (void)base;
  (void)len;
}

void protos_unmap_frame(uintptr_t base, uintptr_t alias, size_t size, void *book,
                        size_t book_bytes) {
  (void)base, (void)alias, (void)size, (void)book, (void)book_bytes;
}

void *protos_alloc(size_t bytes) {
  DWORD saved = GetLastError();
  void *p = VirtualAlloc(NULL, bytes, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  if (p == NULL)
    (void)osdep_errno_of(GetLastError()); /* the caller reports ENOMEM; keep the raw code */
  SetLastError(saved);
  return p;
}

void protos_free(void *p, size_t bytes) {
  (void)bytes;
  DWORD saved = GetLastError();
  VirtualFree(p, 0, MEM_RELEASE);
  SetLastError(saved);
}

/* The accesses a VirtualQuery protection value permits, as MPSPROT_QUERY_* bits.  The
 * modifiers (PAGE_NOCACHE, PAGE_WRITECOMBINE) do not change them; PAGE_GUARD does: the
 * first access raises STATUS_GUARD_PAGE_VIOLATION, so the page permits nothing yet. */
static int query_bits(DWORD protect) {
  if (protect & PAGE_GUARD)
    return 0;
  switch (protect & 0xff) {
  case PAGE_READONLY:
    return MPSPROT_QUERY_READ;
  case PAGE_READWRITE:
  case PAGE_WRITECOPY:
    return MPSPROT_QUERY_READ | MPSPROT_QUERY_WRITE;
  case PAGE_EXECUTE:
    return MPSPROT_QUERY_EXEC;
  case PAGE_EXECUTE_READ:
    return MPSPROT_QUERY_READ | MPSPROT_QUERY_EXEC;
  case PAGE_EXECUTE_READWRITE:
  case PAGE_EXECUTE_WRITECOPY:
    return MPSPROT_QUERY_READ | MPSPROT_QUERY_WRITE | MPSPROT_QUERY_EXEC;
  default: /* PAGE_NOACCESS, or 0 for a reserved or free run */
    return 0;
  }
}

int mpsprot_query(int64_t addr, int64_t *out) {
  if (out == NULL)
    return EINVAL;
  DWORD saved = GetLastError();
  MEMORY_BASIC_INFORMATION mbi;
  int err = 0;
  if (VirtualQuery((const void *)(uintptr_t)addr, &mbi, sizeof mbi) != sizeof mbi) {
    err = osdep_errno_of(GetLastError());
    if (err == 0)
      err = EINVAL; /* a short answer without an error code: never seen, but not 0 */
  } else {
    int committed = mbi.State == MEM_COMMIT;
    out[0] = (int64_t)(uintptr_t)mbi.BaseAddress;
    out[1] = (int64_t)mbi.RegionSize;
    out[2] = committed;
    out[3] = committed ? query_bits(mbi.Protect) : 0;
  }
  SetLastError(saved);
  return err;
}

uint32_t mpsprot_win_last_error(void) {
  return (uint32_t)osdep_tls_get(OSDEP_TLS_OS_ERROR);
}
