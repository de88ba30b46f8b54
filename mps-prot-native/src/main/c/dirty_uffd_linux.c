/* dirty_uffd_linux.c -- dirty-page tracking by userfaultfd write-protect in async mode,
 * harvested with the PAGEMAP_SCAN ioctl (Linux 6.7+)
 *
 * What it does.  mpsprot_uffd_attach registers a region's mutator view [base, limit)
 * with a userfaultfd of its own in write-protect mode, with UFFD_FEATURE_WP_ASYNC, and
 * write-protects every page of it.  In async mode no thread ever reads that fd: a write
 * to a protected page is resolved by the kernel inside the page fault (no signal, no
 * message; the page simply becomes written and writable).  mpsprot_uffd_harvest asks
 * /proc/self/pagemap, with one PAGEMAP_SCAN walk, for the pages written since they were
 * last protected, and has the same walk write-protect them again (PM_SCAN_WP_MATCHING),
 * page table lock held, so that a write is either seen by this harvest or faults after
 * the re-protection and is seen by the next one: no write is ever missed (rule 5).
 *
 * What it assumes, and why:
 * - Linux 6.7+ for UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN; both are probed at run time
 *   (mpsprot_probe_uffd_wp_async, and attach fails with EOPNOTSUPP when the kernel does
 *   not grant the features), never inferred from a version number.
 * - Debian 12's kernel headers predate both, so the UAPI structures, ioctl numbers and
 *   flags are defined here under MPSPROT_-prefixed names (values from the kernel's
 *   include/uapi/linux/userfaultfd.h and include/uapi/linux/fs.h); the system headers
 *   are not included, so nothing can clash whatever their age.
 * - The regions are memfd MAP_SHARED mappings (prot_posix.c, prot_linux.c).  Async
 *   write-protect accepts any memory type when WP is the only registered mode;
 *   never-touched pages of the view are protected too (UFFD_FEATURE_WP_UNPOPULATED: the
 *   kernel leaves a marker in the page table).  UFFD_FEATURE_WP_HUGETLBFS_SHMEM is requested when the kernel
 *   offers it (it only advertises shmem/hugetlbfs support; registration does not need it).
 * - Tracking is per mapping: writes through the collector's alias view are not reported
 *   (they are the collector's own writes).
 * - A written page whose page-table entry the kernel drops (MADV_DONTNEED or
 *   MADV_PAGEOUT on the mutator view) is still reported: measured on Linux 6.18, an empty
 *   entry in an async-WP range reads as written (test_uffd pins this).  Reclaim of the
 *   memfd's pages to swap is the same path but could not be tried (no swap here).
 * - The caller (the Java module) serialises attach and detach of one slot with its
 *   destruction, and calls mpsprot_uffd_detach before mpsprot_region_destroy.  Detach
 *   after destroy is harmless: it closes the stale fd and returns EINVAL.  attach and
 *   harvest pin the region (region_pin) while they use it, so a concurrent destroy waits.
 * - The page size comes from sysconf(_SC_PAGESIZE), never assumed.
 *
 * Nothing here runs in the signal handler: attach, harvest and detach are normal-context
 * calls that may take a mutex (attach/detach only) and make system calls.
 */
#include "dirty_uffd.h"
#include "inject.h"
#include "mpsprot.h"

#include <errno.h>

#if defined(__linux__)

#include "region.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* --- userfaultfd UAPI (include/uapi/linux/userfaultfd.h) -------------------------- */
#define MPSPROT_UFFD_API ((uint64_t)0xAA)
#define MPSPROT_UFFD_USER_MODE_ONLY 1
#define MPSPROT_UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1ULL << 12)
#define MPSPROT_UFFD_FEATURE_WP_UNPOPULATED (1ULL << 13)
#define MPSPROT_UFFD_FEATURE_WP_ASYNC (1ULL << 15)
#define MPSPROT_UFFDIO_REGISTER_MODE_WP (1ULL << 1)
#define MPSPROT_UFFDIO_WRITEPROTECT_MODE_WP (1ULL << 0)
#define MPSPROT__UFFDIO_WRITEPROTECT 0x06 /* bit number in uffdio_register.ioctls */

struct mpsprot_uffdio_api {
  uint64_t api;
  uint64_t features;
  uint64_t ioctls;
};
struct mpsprot_uffdio_range {
  uint64_t start;
  uint64_t len;
};
struct mpsprot_uffdio_register {
  struct mpsprot_uffdio_range range;
  uint64_t mode;
  uint64_t ioctls; /* out: the range ioctls the registration allows */
};
struct mpsprot_uffdio_writeprotect {
  struct mpsprot_uffdio_range range;
  uint64_t mode;
};
#define MPSPROT_UFFDIO_API _IOWR(0xAA, 0x3F, struct mpsprot_uffdio_api)
#define MPSPROT_UFFDIO_REGISTER _IOWR(0xAA, 0x00, struct mpsprot_uffdio_register)
#define MPSPROT_UFFDIO_UNREGISTER _IOR(0xAA, 0x01, struct mpsprot_uffdio_range)
#define MPSPROT_UFFDIO_WRITEPROTECT _IOWR(0xAA, 0x06, struct mpsprot_uffdio_writeprotect)

/* --- PAGEMAP_SCAN UAPI (include/uapi/linux/fs.h, Linux 6.7) ------------------------- */
struct mpsprot_page_region {
  uint64_t start; /* first byte */
  uint64_t end;   /* exclusive */
  uint64_t categories;
};
struct mpsprot_pm_scan_arg {
  uint64_t size;
  uint64_t flags;
  uint64_t start;
  uint64_t end;
  uint64_t walk_end; /* out: where the walk stopped (== end when it covered everything) */
  uint64_t vec;
  uint64_t vec_len;
  uint64_t max_pages;
  uint64_t category_inverted;
  uint64_t category_mask;
  uint64_t category_anyof_mask;
  uint64_t return_mask;
};
#define MPSPROT_PAGEMAP_SCAN _IOWR('f', 16, struct mpsprot_pm_scan_arg)
#define MPSPROT_PM_SCAN_WP_MATCHING (1ULL << 0)   /* write-protect the pages matched */
#define MPSPROT_PM_SCAN_CHECK_WPASYNC (1ULL << 1) /* fail (EPERM) on a VMA without async WP */
#define MPSPROT_PAGE_IS_WRITTEN (1ULL << 1)

_Static_assert(sizeof(struct mpsprot_pm_scan_arg) == 96, "struct pm_scan_arg is 96 bytes");
_Static_assert(sizeof(struct mpsprot_page_region) == 24, "struct page_region is 24 bytes");
_Static_assert(sizeof(struct mpsprot_uffdio_register) == 32, "uffdio_register is 32 bytes");

/* Output regions per PAGEMAP_SCAN call, on the caller's stack (3 KiB); a harvest whose
 * written pages form more runs than this loops from walk_end. */
#define UFFD_VEC_LEN 128

/* ioctl through the fault-injection seam (inject.h). */
static long inject_ioctl(int fd, unsigned long req, void *arg) {
  int err = inject_fail(MPSPROT_INJECT_IOCTL);
  if (err != 0) {
    errno = err;
    return -1;
  }
  return ioctl(fd, req, arg);
}

/* One entry per region slot.  fd_plus1 == 0: not attached.  attach publishes base and
 * limit before fd_plus1 (release); harvest reads fd_plus1 first (acquire).  attach and
 * detach serialise on uffd_lock. */
struct uffd_entry {
  _Atomic int fd_plus1;
  uintptr_t base;
  uintptr_t limit;
};
static struct uffd_entry uffd_table[MPSPROT_MAX_REGIONS];
static pthread_mutex_t uffd_lock = PTHREAD_MUTEX_INITIALIZER;

/* /proc/self/pagemap, opened on first use and kept for the life of the process.  A failed
 * open is not remembered: EMFILE, ENFILE or ENOMEM are transient, so the next call tries
 * again (item 14 of issue 10: one EMFILE must not end userfaultfd harvesting for good).
 * Lock-free: two threads may both open; the one whose compare-and-swap publishes its fd
 * wins, the other closes its own.  fd + 1 is stored so that 0 means "not open yet". */
static _Atomic int pagemap_fd_plus1;

/* /proc/self/pagemap, or -1 with *err set (the open's errno; the next call retries). */
static int pagemap(int *err) {
  int have = atomic_load_explicit(&pagemap_fd_plus1, memory_order_acquire);
  if (have != 0) {
    *err = 0;
    return have - 1;
  }
  int fail = inject_fail(MPSPROT_INJECT_PROC_OPEN);
  int fd = fail != 0 ? -1 : open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = fail != 0 ? fail : errno;
    return -1;
  }
  int expected = 0;
  if (!atomic_compare_exchange_strong_explicit(&pagemap_fd_plus1, &expected, fd + 1,
                                               memory_order_acq_rel, memory_order_acquire)) {
    close(fd); /* another thread published its fd first */
    fd = expected - 1;
  }
  *err = 0;
  return fd;
}

static uintptr_t page_size(void) {
  static _Atomic long cached;
  long p = atomic_load_explicit(&cached, memory_order_relaxed);
  if (p == 0) {
    p = sysconf(_SC_PAGESIZE);
    atomic_store_explicit(&cached, p, memory_order_relaxed);
  }
  return (uintptr_t)p;
}


/* 1 if the VMA at addr is registered for async write-protect (any userfaultfd), 0 if it
 * is not, -1 with *err set when that cannot be told now (pagemap could not be opened, or
 * the scan failed otherwise): a transient failure is never taken for "not registered". */
static int wp_async_registered(uintptr_t addr, int *err) {
  int pm = pagemap(err);
  if (pm < 0)
    return -1;
  struct mpsprot_pm_scan_arg arg = {0};
  arg.size = sizeof arg;
  arg.flags = MPSPROT_PM_SCAN_CHECK_WPASYNC;
  arg.start = addr;
  arg.end = addr + page_size();
  arg.category_anyof_mask = MPSPROT_PAGE_IS_WRITTEN;
  arg.return_mask = MPSPROT_PAGE_IS_WRITTEN;
  if (inject_ioctl(pm, MPSPROT_PAGEMAP_SCAN, &arg) >= 0)
    return 1;
  if (errno == EPERM) /* PM_SCAN_CHECK_WPASYNC: not registered for async write-protect */
    return 0;
  *err = errno;
  return -1;
}

/* 1 if the entry still tracks the region r (not a region since destroyed, whose slot
 * and maybe whose addresses a new region reuses), 0 if not, -1 with *err set when that
 * cannot be told now. */
static int entry_tracks(const struct uffd_entry *e, const struct region *r, int *err) {
  if (r == NULL || e->base != r->base || e->limit != r->limit)
    return 0;
  return wp_async_registered(r->base, err);
}

static int open_uffd(void) {
#ifdef SYS_userfaultfd
  int err = inject_fail(MPSPROT_INJECT_USERFAULTFD);
  if (err != 0) {
    errno = err;
    return -1;
  }
  int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 && errno == EPERM) /* vm.unprivileged_userfaultfd=0 and no CAP_SYS_PTRACE */
    fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | MPSPROT_UFFD_USER_MODE_ONLY);
  return fd;
#else
  errno = ENOSYS;
  return -1;
#endif
}

/* A userfaultfd with async write-protect enabled, or -1 with *err set. */
static int open_wp_async(int *err) {
  const uint64_t need = MPSPROT_UFFD_FEATURE_WP_ASYNC | MPSPROT_UFFD_FEATURE_WP_UNPOPULATED;
  /* First with the shmem feature bit, then (a kernel that does not know it) without. */
  for (int attempt = 0; attempt < 2; attempt++) {
    int fd = open_uffd();
    if (fd < 0) {
      *err = errno;
      return -1;
    }
    struct mpsprot_uffdio_api api = {MPSPROT_UFFD_API, need, 0};
    if (attempt == 0)
      api.features |= MPSPROT_UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
    if (inject_ioctl(fd, MPSPROT_UFFDIO_API, &api) == 0) {
      if ((api.features & need) == need)
        return fd;
      close(fd);
      *err = EOPNOTSUPP;
      return -1;
    }
    *err = errno == EINVAL ? EOPNOTSUPP : errno;
    close(fd);
  }
  return -1;
}

static int ioctl_retry(int fd, unsigned long req, void *arg) {
  for (int i = 0;; i++) {
    if (inject_ioctl(fd, req, arg) == 0)
      return 0;
    /* EAGAIN: the address space was changing (a non-cooperative event); try again. */
    if ((errno != EAGAIN && errno != EINTR) || i >= 100)
      return errno;
  }
}

int mpsprot_uffd_attach(int slot) {
  if (slot < 0 || slot >= MPSPROT_MAX_REGIONS)
    return EINVAL;
  int saved = errno, err = 0;
  pthread_mutex_lock(&uffd_lock);
  struct region *r = region_pin_slot(slot);
  if (r == NULL) {
    err = EINVAL;
    goto unlock;
  }
  struct uffd_entry *e = &uffd_table[slot];
  int old = atomic_load_explicit(&e->fd_plus1, memory_order_relaxed);
  if (old != 0) {
    int tracks = entry_tracks(e, r, &err);
    if (tracks != 0) {
      if (tracks > 0)
        err = EBUSY;
      goto unpin; /* tracks < 0: cannot tell now; drop nothing, the caller may retry */
    }
    /* Left over from a region destroyed without detach: drop it. */
    atomic_store_explicit(&e->fd_plus1, 0, memory_order_release);
    close(old - 1);
  }
  int fd = open_wp_async(&err);
  if (fd < 0)
    goto unpin;
  uintptr_t len = r->limit - r->base;
  struct mpsprot_uffdio_register reg = {{r->base, len}, MPSPROT_UFFDIO_REGISTER_MODE_WP, 0};
  err = ioctl_retry(fd, MPSPROT_UFFDIO_REGISTER, &reg);
  if (err == 0 && (reg.ioctls & (1ULL << MPSPROT__UFFDIO_WRITEPROTECT)) == 0)
    err = EOPNOTSUPP;
  if (err == 0) {
    struct mpsprot_uffdio_writeprotect wp = {{r->base, len}, MPSPROT_UFFDIO_WRITEPROTECT_MODE_WP};
    err = ioctl_retry(fd, MPSPROT_UFFDIO_WRITEPROTECT, &wp);
  }
  if (err != 0) {
    close(fd); /* closing the fd unregisters whatever it registered */
    goto unpin;
  }
  e->base = r->base;
  e->limit = r->limit;
  atomic_store_explicit(&e->fd_plus1, fd + 1, memory_order_release);
unpin:
  region_unpin(slot);
unlock:
  pthread_mutex_unlock(&uffd_lock);
  errno = saved;
  return err;
}

/* Sets bits [lo, hi) of out. */
static void set_run(uint64_t *out, uint64_t lo, uint64_t hi) {
  while (lo < hi) {
    uint64_t w = lo / 64, b = lo % 64;
    uint64_t n = 64 - b < hi - lo ? 64 - b : hi - lo;
    out[w] |= (n == 64 ? ~0ULL : ((1ULL << n) - 1)) << b;
    lo += n;
  }
}

int mpsprot_uffd_harvest(int slot, int64_t first, int64_t count, uint64_t *out,
                         int64_t *found) {
  if (found == NULL || out == NULL)
    return EINVAL;
  *found = 0;
  if (slot < 0 || slot >= MPSPROT_MAX_REGIONS)
    return EINVAL;
  struct uffd_entry *e = &uffd_table[slot];
  int attached = atomic_load_explicit(&e->fd_plus1, memory_order_acquire) != 0;
  struct region *r = region_pin_slot(slot);
  if (r == NULL)
    return EINVAL;
  int saved = errno, err = 0;
  uintptr_t page = page_size();
  if (first < 0 || count < 0 || (uint64_t)first + (uint64_t)count > r->pages) {
    err = EINVAL;
    goto unpin;
  }
  if (!attached || e->base != r->base) {
    err = ENOENT;
    goto unpin;
  }
  if (count == 0)
    goto unpin;
  int pm = pagemap(&err);
  if (pm < 0)
    goto unpin;

  uint64_t origin = (uint64_t)r->base + (uint64_t)first * page;
  uint64_t start = origin, end = origin + (uint64_t)count * page;
  struct mpsprot_page_region vec[UFFD_VEC_LEN];
  int64_t pages = 0;
  while (start < end) {
    struct mpsprot_pm_scan_arg arg = {0};
    arg.size = sizeof arg;
    arg.flags = MPSPROT_PM_SCAN_WP_MATCHING | MPSPROT_PM_SCAN_CHECK_WPASYNC;
    arg.start = start;
    arg.end = end;
    arg.vec = (uint64_t)(uintptr_t)vec;
    arg.vec_len = UFFD_VEC_LEN;
    arg.category_mask = MPSPROT_PAGE_IS_WRITTEN;
    arg.category_anyof_mask = MPSPROT_PAGE_IS_WRITTEN;
    arg.return_mask = MPSPROT_PAGE_IS_WRITTEN;
    long n = inject_ioctl(pm, MPSPROT_PAGEMAP_SCAN, &arg);
    if (n < 0 || arg.walk_end <= start) {
      /* The walk may have re-protected written pages past `start` before it failed,
       * and which ones is unknown: report every page from `start` on (a coarser record,
       * never a lost write) and say what failed. */
      err = n < 0 ? (errno == EPERM ? ENOENT : errno) : EIO; /* EPERM: not registered */
      set_run(out, (start - origin) / page, (end - origin) / page);
      pages += (int64_t)((end - start) / page);
      break;
    }
    for (long i = 0; i < n; i++) {
      uint64_t lo = (vec[i].start - origin) / page, hi = (vec[i].end - origin) / page;
      set_run(out, lo, hi);
      pages += (int64_t)(hi - lo);
    }
    start = arg.walk_end; /* == end unless the vector filled up */
  }
  *found = pages;
unpin:
  region_unpin(slot);
  errno = saved;
  return err;
}

int mpsprot_uffd_detach(int slot) {
  if (slot < 0 || slot >= MPSPROT_MAX_REGIONS)
    return EINVAL;
  int saved = errno, err = 0;
  pthread_mutex_lock(&uffd_lock);
  struct uffd_entry *e = &uffd_table[slot];
  int fd_plus1 = atomic_load_explicit(&e->fd_plus1, memory_order_relaxed);
  if (fd_plus1 == 0) {
    err = EINVAL;
    goto unlock;
  }
  struct region *r = region_pin_slot(slot);
  int tracks = entry_tracks(e, r, &err);
  if (tracks > 0) {
    struct mpsprot_uffdio_range range = {e->base, e->limit - e->base};
    err = ioctl_retry(fd_plus1 - 1, MPSPROT_UFFDIO_UNREGISTER, &range);
  } else if (tracks == 0) {
    /* The region was destroyed (its mapping, and the registration with it, are gone).
     * Unregistering by address could touch a new region at the same addresses. */
    err = EINVAL;
  } else {
    /* Whether the registration is still there cannot be told now (pagemap could not be
     * opened): closing the fd below releases whatever this fd registered, and nothing
     * that another userfaultfd registered, so the detach is complete without the ioctl. */
    err = 0;
  }
  atomic_store_explicit(&e->fd_plus1, 0, memory_order_release);
  close(fd_plus1 - 1); /* releases any registration left */
  if (r != NULL)
    region_unpin(slot);
unlock:
  pthread_mutex_unlock(&uffd_lock);
  errno = saved;
  return err;
}

void uffd_after_fork_child(void) {
  for (int i = 0; i < MPSPROT_MAX_REGIONS; i++) {
    int fd_plus1 = atomic_load_explicit(&uffd_table[i].fd_plus1, memory_order_relaxed);
    atomic_store_explicit(&uffd_table[i].fd_plus1, 0, memory_order_relaxed);
    if (fd_plus1 != 0)
      close(fd_plus1 - 1); /* the parent's registration stays: it holds its own fd */
  }
  /* The inherited pagemap fd names the parent's address space: the child opens its own. */
  int pm_plus1 = atomic_exchange_explicit(&pagemap_fd_plus1, 0, memory_order_relaxed);
  if (pm_plus1 != 0)
    close(pm_plus1 - 1);
  pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER; /* a thread that held it is gone */
  uffd_lock = fresh;
}

#else /* not Linux: no userfaultfd */

void uffd_after_fork_child(void) {}

int mpsprot_uffd_attach(int slot) {
  (void)slot;
  return ENOSYS;
}

int mpsprot_uffd_harvest(int slot, int64_t first, int64_t count, uint64_t *out,
                         int64_t *found) {
  (void)slot, (void)first, (void)count, (void)out;
  if (found != NULL)
    *found = 0;
  return ENOSYS;
}

int mpsprot_uffd_detach(int slot) {
  (void)slot;
  return ENOSYS;
}

#endif
