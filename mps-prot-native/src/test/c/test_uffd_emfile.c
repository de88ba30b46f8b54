/* test_uffd_emfile.c -- a transient failure of the userfaultfd backend stays transient
 * (dirty_uffd_linux.c, issue 10 item 14)
 *
 * The harvest opens /proc/self/pagemap on first use.  This test runs that first use with
 * the process really out of file descriptors (RLIMIT_NOFILE lowered and every descriptor
 * taken), so the open fails with EMFILE; then it frees the descriptors and checks that the
 * next harvest works and reports every page written before and after the failure (a failed
 * open used to be remembered for the life of the process).  It also checks that a detach
 * while pagemap cannot be opened completes (closing the userfaultfd releases its
 * registration) instead of taking the region for destroyed, and that attach of a region
 * whose slot still holds a tracker refuses without dropping it.
 *
 * It must run in a process of its own: the pagemap descriptor, once open, is kept.  When
 * the kernel lacks the features the test says why and counts as skipped (exit 0), unless
 * MPSPROT_TEST_UFFD_REQUIRE=1. */
#include "check.h"
#include "mpsprot.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static long page;

struct twin {
  int slot;
  char *base;
  int64_t pages;
};

static int twin_create(struct twin *t, int64_t pages) {
  int64_t out[4];
  int err = mpsprot_region_create(pages * page, out);
  CHECK(err == 0, "region_create: %s", strerror(err));
  t->slot = (int)out[0];
  t->base = (char *)(uintptr_t)out[1];
  t->pages = pages;
  return err;
}

/* Takes every free descriptor under a soft limit of `limit`; returns how many (in fds). */
static int exhaust(int *fds, int max, struct rlimit *saved, rlim_t limit) {
  getrlimit(RLIMIT_NOFILE, saved);
  struct rlimit low = {limit, saved->rlim_max};
  CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0, "setrlimit(%ld): %s", (long)limit, strerror(errno));
  int n = 0;
  while (n < max) {
    int fd = dup(0);
    if (fd < 0) {
      CHECK(errno == EMFILE, "dup failed with %s, want EMFILE", strerror(errno));
      break;
    }
    fds[n++] = fd;
  }
  return n;
}

static void release(int *fds, int n, const struct rlimit *saved) {
  for (int i = 0; i < n; i++)
    close(fds[i]);
  setrlimit(RLIMIT_NOFILE, saved);
}

static void test_emfile_is_transient(void) {
  struct twin a, b;
  if (twin_create(&a, 8) != 0 || twin_create(&b, 4) != 0)
    return;
  int err = mpsprot_uffd_attach(a.slot);
  CHECK(err == 0, "attach a: %s", strerror(err));
  err = mpsprot_uffd_attach(b.slot);
  CHECK(err == 0, "attach b: %s", strerror(err));
  if (err != 0)
    return;

  a.base[1 * page] = 1; /* written before the failure */

  static int fds[4096];
  struct rlimit saved;
  int n = exhaust(fds, 4096, &saved, 256);
  CHECK(n > 0 && n < 4096, "took %d descriptors", n);

  uint64_t bits[1] = {0};
  int64_t found = -1;
  err = mpsprot_uffd_harvest(a.slot, 0, a.pages, bits, &found);
  CHECK(err == EMFILE, "harvest with no descriptor left: %s, want EMFILE", strerror(err));
  CHECK(found == 0 && bits[0] == 0, "nothing reported by the failed harvest");
  err = mpsprot_uffd_harvest(a.slot, 0, a.pages, bits, &found);
  CHECK(err == EMFILE, "harvest again, still no descriptor: %s, want EMFILE", strerror(err));

  /* attach over a live tracker cannot tell (pagemap) whether it still tracks: it refuses,
   * and keeps the tracker. */
  err = mpsprot_uffd_attach(a.slot);
  CHECK(err == EMFILE, "attach over the live tracker of a: %s, want EMFILE", strerror(err));

  /* detach while pagemap cannot be opened: closing the fd releases the registration. */
  err = mpsprot_uffd_detach(b.slot);
  CHECK(err == 0, "detach of b while pagemap cannot be opened: %s, want 0", strerror(err));

  release(fds, n, &saved);

  a.base[5 * page] = 2; /* written after the failure */
  bits[0] = 0;
  found = -1;
  err = mpsprot_uffd_harvest(a.slot, 0, a.pages, bits, &found);
  CHECK(err == 0, "harvest after the descriptors were freed: %s, want success", strerror(err));
  CHECK(found == 2 && bits[0] == ((1ULL << 1) | (1ULL << 5)),
        "pages 1 (before the failure) and 5 (after) reported: found %ld bits %#llx",
        (long)found, (unsigned long long)bits[0]);
  bits[0] = 0;
  err = mpsprot_uffd_harvest(a.slot, 0, a.pages, bits, &found);
  CHECK(err == 0 && found == 0, "then a clean harvest: %s, found %ld", strerror(err), (long)found);

  /* b is detached: no longer registered, its slot attachable again. */
  err = mpsprot_uffd_harvest(b.slot, 0, b.pages, bits, &found);
  CHECK(err == ENOENT, "harvest of detached b: %s, want ENOENT", strerror(err));
  err = mpsprot_uffd_attach(b.slot);
  CHECK(err == 0, "attach b again: %s", strerror(err));
  b.base[2 * page] = 1;
  bits[0] = 0;
  err = mpsprot_uffd_harvest(b.slot, 0, b.pages, bits, &found);
  CHECK(err == 0 && bits[0] == (1ULL << 2), "b tracked again: %s, bits %#llx", strerror(err),
        (unsigned long long)bits[0]);

  CHECK(mpsprot_uffd_detach(a.slot) == 0, "detach a");
  CHECK(mpsprot_uffd_detach(b.slot) == 0, "detach b");
  mpsprot_region_destroy(a.slot);
  mpsprot_region_destroy(b.slot);
}

int main(void) {
  page = (long)mpsprot_page_size();
  int64_t features = 0;
  int why = mpsprot_probe_uffd_wp_async(&features);
  if (why != 0) {
    const char *require = getenv("MPSPROT_TEST_UFFD_REQUIRE");
    printf("test_uffd_emfile: SKIPPED: userfaultfd async write-protect + PAGEMAP_SCAN"
           " unavailable: %s\n", strerror(why));
    if (require && strcmp(require, "1") == 0)
      CHECK(0, "MPSPROT_TEST_UFFD_REQUIRE=1 but the backend is unavailable");
    return check_report("test_uffd_emfile");
  }
  test_emfile_is_transient();
  return check_report("test_uffd_emfile");
}
