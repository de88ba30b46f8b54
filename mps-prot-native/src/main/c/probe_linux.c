/* probe_linux.c -- run-time probes of the Linux dirty-tracking backends
 *
 * Debian 12's kernel headers predate UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN, so the
 * constants and structures used here are defined locally from the kernel's UAPI, and
 * every feature is probed at run time, never assumed from a version number.
 * The probes run in normal context (never from the signal handler).
 *
 * Off Linux (the macOS and Windows builds compile this file too, as they compile
 * dirty_uffd_linux.c) both probes answer ENOSYS, so the library has the same API
 * everywhere; Windows' own dirty tracking, write watch, is dirty_ww_windows.c.
 */
#include "mpsprot.h"

#include <errno.h>
#include <stddef.h>

#if defined(__linux__)

#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* From include/uapi/linux/userfaultfd.h (Linux 6.7). */
#define PROBE_UFFD_API ((uint64_t)0xAA)
#define PROBE_UFFD_USER_MODE_ONLY 1
#define PROBE_UFFD_FEATURE_WP_UNPOPULATED (1ULL << 13)
#define PROBE_UFFD_FEATURE_WP_ASYNC (1ULL << 15)
struct probe_uffdio_api {
  uint64_t api;
  uint64_t features;
  uint64_t ioctls;
};
#define PROBE_UFFDIO_API _IOWR(0xAA, 0x3F, struct probe_uffdio_api)

/* From include/uapi/linux/fs.h (Linux 6.7). */
struct probe_pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PROBE_PAGEMAP_SCAN _IOWR('f', 16, struct probe_pm_scan_arg)
#define PROBE_PAGE_IS_WRITTEN (1ULL << 1)

static int open_uffd(void) {
#ifdef SYS_userfaultfd
  int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (fd < 0 && errno == EPERM)
    fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | PROBE_UFFD_USER_MODE_ONLY);
  return fd;
#else
  errno = ENOSYS;
  return -1;
#endif
}

/* 0 when userfaultfd write-protect in async mode and PAGEMAP_SCAN both work;
 * *detail = the feature bits the kernel offers (or 0). */
int mpsprot_probe_uffd_wp_async(int64_t *detail) {
  if (detail == NULL)
    return EINVAL;
  int saved = errno, err = 0;
  *detail = 0;
  int fd = open_uffd();
  if (fd < 0) {
    err = errno;
    goto out;
  }
  struct probe_uffdio_api api = {PROBE_UFFD_API, 0, 0};
  if (ioctl(fd, PROBE_UFFDIO_API, &api) != 0) {
    err = errno;
    close(fd);
    goto out;
  }
  close(fd);
  *detail = (int64_t)api.features;
  uint64_t want = PROBE_UFFD_FEATURE_WP_ASYNC | PROBE_UFFD_FEATURE_WP_UNPOPULATED;
  if ((api.features & want) != want) {
    err = EOPNOTSUPP;
    goto out;
  }
  /* PAGEMAP_SCAN: a walk over one mapped page with no output vector. */
  long page = sysconf(_SC_PAGESIZE);
  void *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    err = errno;
    goto out;
  }
  int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pm < 0) {
    err = errno;
  } else {
    struct probe_pm_scan_arg arg = {0};
    arg.size = sizeof arg;
    arg.start = (uint64_t)(uintptr_t)p;
    arg.end = arg.start + (uint64_t)page;
    arg.category_anyof_mask = PROBE_PAGE_IS_WRITTEN;
    arg.return_mask = PROBE_PAGE_IS_WRITTEN;
    if (ioctl(pm, PROBE_PAGEMAP_SCAN, &arg) < 0)
      err = errno == ENOTTY ? ENOTTY : errno;
    close(pm);
  }
  munmap(p, (size_t)page);
out:
  errno = saved;
  return err;
}

/* 0 when the soft-dirty bit (pagemap bit 55) is set by a write after clear_refs 4;
 * *detail = the pagemap entry read after the write.  A kernel without
 * CONFIG_MEM_SOFT_DIRTY, or one whose bit stays clear, fails with EOPNOTSUPP. */
int mpsprot_probe_soft_dirty(int64_t *detail) {
  if (detail == NULL)
    return EINVAL;
  int saved = errno, err = 0;
  *detail = 0;
  long page = sysconf(_SC_PAGESIZE);
  volatile char *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    err = errno;
    goto out;
  }
  p[0] = 1;
  int cr = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (cr < 0) {
    err = errno;
    goto unmap;
  }
  ssize_t w = write(cr, "4", 1);
  if (w != 1)
    err = w < 0 ? errno : EIO;
  close(cr);
  if (err != 0)
    goto unmap;
  p[0] = 2;
  int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pm < 0) {
    err = errno;
    goto unmap;
  }
  uint64_t entry = 0;
  off_t at = (off_t)(((uintptr_t)p / (uintptr_t)page) * sizeof entry);
  if (pread(pm, &entry, sizeof entry, at) != (ssize_t)sizeof entry)
    err = EIO;
  close(pm);
  *detail = (int64_t)entry;
  if (err == 0 && (entry & (1ULL << 55)) == 0)
    err = EOPNOTSUPP;
unmap:
  munmap((void *)p, (size_t)page);
out:
  errno = saved;
  return err;
}

#else /* not Linux: neither backend exists */

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

#endif
