/* dirty_ww_windows.c -- dirty-page tracking with Windows write watch (GetWriteWatch /
 * ResetWriteWatch; bdwgc's GWW_VDB), a strategy of its own beside the regions
 *
 * What it does.  Write watch is a property of private memory allocated with
 * VirtualAlloc(MEM_RESERVE | MEM_WRITE_WATCH); section views (the regions, mapped
 * twice) cannot carry it.  So this is a separate, small API: mpsprot_ww_alloc gives
 * write-watched memory, mpsprot_ww_harvest reports the pages written since the last
 * harvest (or the allocation) and resets them in the same call
 * (WRITE_WATCH_FLAG_RESET), mpsprot_ww_reset forgets writes, mpsprot_ww_free releases
 * the memory.  No fault, no handler and no protection change is involved: the kernel
 * records the writes itself (the page table's dirty bits on Windows; Wine write-protects
 * the pages and catches the first write of each in its own fault handler).
 *
 * What it assumes, and why:
 * - Windows (x86-64), built with mingw-w64; tested under Wine 8.
 * - No write is lost (rule 5): GetWriteWatch with WRITE_WATCH_FLAG_RESET reads and
 *   clears each page's state in one kernel operation, so a write either is reported by
 *   this harvest or marks the page again for the next.  The harvest asks about at most
 *   WW_CHUNK pages per call and passes an array of exactly that many entries, so the
 *   array can never be too small (a too-small array would leave it unclear which pages
 *   the reset cleared).  If a call fails, the harvest stops with its errno: the pages
 *   of that chunk and the later ones were not reset, so their writes stay recorded for
 *   the next harvest (nothing is lost; what was reported before the failure stands).
 * - The page size is GetSystemInfo's (protos_page_size); GetWriteWatch's own
 *   granularity answer is checked against it, and a mismatch fails with EINVAL.
 * - Allocations are remembered in a fixed table (WW_MAX of them) so that a harvest of a
 *   base the module did not allocate, or of pages outside it, is refused with EINVAL.
 *   The table takes a lock; none of this runs in the exception handler.
 */
#include "mpsprot.h"
#include "osdep.h"
#include "protos.h"

#include <errno.h>
#include <string.h>

#define WW_MAX 256
#define WW_CHUNK 512

struct ww_alloc {
  uintptr_t base;
  size_t size;
};

static struct ww_alloc allocs[WW_MAX];
static osdep_mutex ww_lock = OSDEP_MUTEX_INIT;

/* The table entry of base, or NULL (lock held). */
static struct ww_alloc *find(uintptr_t base) {
  for (int i = 0; i < WW_MAX; i++)
    if (allocs[i].base == base && base != 0)
      return &allocs[i];
  return NULL;
}

int mpsprot_ww_alloc(int64_t size, int64_t *base) {
  int64_t page = protos_page_size();
  if (base == NULL)
    return EINVAL;
  *base = 0;
  if (size <= 0 || size % page != 0)
    return EINVAL;
  osdep_mutex_lock(&ww_lock);
  struct ww_alloc *slot = NULL;
  for (int i = 0; slot == NULL && i < WW_MAX; i++)
    if (allocs[i].base == 0)
      slot = &allocs[i];
  int err = 0;
  if (slot == NULL) {
    err = ENFILE;
  } else {
    DWORD saved = GetLastError();
    void *p = VirtualAlloc(NULL, (SIZE_T)size, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                           PAGE_READWRITE);
    if (p == NULL) {
      err = osdep_errno_of(GetLastError());
    } else {
      slot->base = (uintptr_t)p;
      slot->size = (size_t)size;
      *base = (int64_t)(uintptr_t)p;
    }
    SetLastError(saved);
  }
  osdep_mutex_unlock(&ww_lock);
  return err;
}

/* Checks [first, first + count) against the allocation at base; the pages' address and
 * length on success. */
static int range(int64_t base, int64_t first, int64_t count, uintptr_t *at, size_t *len) {
  int64_t page = protos_page_size();
  osdep_mutex_lock(&ww_lock);
  struct ww_alloc *a = find((uintptr_t)base);
  size_t pages = a == NULL ? 0 : a->size / (size_t)page;
  osdep_mutex_unlock(&ww_lock);
  if (a == NULL || first < 0 || count < 0 || (uint64_t)first + (uint64_t)count > pages)
    return EINVAL;
  *at = (uintptr_t)base + (uintptr_t)first * (uintptr_t)page;
  *len = (size_t)count * (size_t)page;
  return 0;
}

int mpsprot_ww_harvest(int64_t base, int64_t first, int64_t count, uint64_t *out,
                       int64_t *found) {
  if (found != NULL)
    *found = 0;
  uintptr_t at;
  size_t len;
  if (out == NULL || found == NULL)
    return EINVAL;
  int err = range(base, first, count, &at, &len);
  if (err != 0)
    return err;
  size_t page = (size_t)protos_page_size();
  DWORD saved = GetLastError();
  void *addrs[WW_CHUNK];
  for (size_t done = 0; done < len;) {
    size_t chunk = len - done < (size_t)WW_CHUNK * page ? len - done : (size_t)WW_CHUNK * page;
    ULONG_PTR n = WW_CHUNK;
    ULONG gran = 0;
    UINT r = GetWriteWatch(WRITE_WATCH_FLAG_RESET, (void *)(at + done), chunk, addrs, &n,
                           &gran);
    if (r != 0) {
      err = osdep_errno_of(GetLastError());
      break;
    }
    if (gran != page) {
      err = EINVAL;
      break;
    }
    for (ULONG_PTR i = 0; i < n; i++) {
      size_t k = ((uintptr_t)addrs[i] - at) / page; /* relative to first */
      out[k / 64] |= (uint64_t)1 << (k % 64);
      (*found)++;
    }
    done += chunk;
  }
  SetLastError(saved);
  return err;
}

int mpsprot_ww_reset(int64_t base, int64_t first, int64_t count) {
  uintptr_t at;
  size_t len;
  int err = range(base, first, count, &at, &len);
  if (err != 0 || len == 0)
    return err;
  DWORD saved = GetLastError();
  if (ResetWriteWatch((void *)at, len) != 0)
    err = osdep_errno_of(GetLastError());
  SetLastError(saved);
  return err;
}

int mpsprot_ww_free(int64_t base) {
  osdep_mutex_lock(&ww_lock);
  struct ww_alloc *a = find((uintptr_t)base);
  int err = 0;
  if (a == NULL) {
    err = EINVAL;
  } else {
    DWORD saved = GetLastError();
    if (!VirtualFree((void *)a->base, 0, MEM_RELEASE))
      err = osdep_errno_of(GetLastError());
    else
      memset(a, 0, sizeof *a);
    SetLastError(saved);
  }
  osdep_mutex_unlock(&ww_lock);
  return err;
}
