/* test_fork.c -- fork semantics (docs/design/prot.md .sol.fork): a child process
 * inherits no region.
 *
 * The parent has a region under the UNPROTECT policy, write-protected, with one page it
 * wrote itself (dirty), and, where userfaultfd works, a second region tracked by
 * userfaultfd with one page written.  Then:
 * - child A writes to an address of the parent's region: the address is not mapped in
 *   the child, the handler passes the fault on, and the child dies by SIGSEGV.  Before,
 *   the child inherited the MAP_SHARED view and the region table, its handler opened the
 *   page, and the write changed the parent's memory without any harvest of the parent
 *   reporting it.
 * - child B sees no live region (count 0, the address belongs to no slot), its
 *   userfaultfd harvest of the parent's slot is refused, and it can create, write,
 *   harvest (and track with userfaultfd) a region of its own.  Before, its userfaultfd
 *   harvest read and re-protected the parent's pages through the inherited
 *   /proc/self/pagemap fd, so the parent's next harvest missed its own write.
 * - the parent afterwards: its memory is unchanged, its harvest reports exactly its own
 *   write, its userfaultfd harvest reports its own write. */
#include "check.h"
#include "child_posix.h"
#include "mpsprot.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGES 8

static long page;
static int slot, uslot = -1;
static char *base, *ubase;


static void child_writes_parent_region(void) {
  base[3 * page] = 0x5a;
  _exit(0);
}

static void child_state(void) {
  if (uslot >= 0) {
    uint64_t out[1] = {0};
    int64_t found = 0;
    int err = mpsprot_uffd_harvest(uslot, 0, PAGES, out, &found);
    if (err == 0 || found != 0)
      _exit(12); /* it read (and re-protected) the parent's pages */
  }
  if (mpsprot_region_count() != 0)
    _exit(10);
  if (mpsprot_region_find((int64_t)(uintptr_t)base) != -1)
    _exit(11);
  int64_t r[4];
  int32_t rf;
  if (mpsprot_region_create(PAGES * page, r) != 0)
    _exit(13);
  int own = (int)r[0];
  char *mine = (char *)(uintptr_t)r[1];
  if (mpsprot_region_set_policy(own, MPSPROT_POLICY_UNPROTECT, 0) != 0
      || mpsprot_protect(own, 0, PAGES * page, MPSPROT_ACCESS_WRITE, &rf) != 0)
    _exit(14);
  mine[5 * page] = 1;
  uint64_t out[1] = {0};
  int64_t found = 0;
  if (mpsprot_harvest(own, 0, PAGES, MPSPROT_ACCESS_WRITE, out, &found) != 0 || found != 1
      || out[0] != (1u << 5))
    _exit(15);
  if (uslot >= 0) {
    int64_t u[4];
    if (mpsprot_region_create(PAGES * page, u) != 0 || mpsprot_uffd_attach((int)u[0]) != 0)
      _exit(16);
    ((volatile char *)(uintptr_t)u[1])[6 * page] = 1;
    out[0] = 0;
    if (mpsprot_uffd_harvest((int)u[0], 0, PAGES, out, &found) != 0 || out[0] != (1u << 6))
      _exit(17); /* its own pagemap, its own writes */
    if (mpsprot_uffd_detach((int)u[0]) != 0 || mpsprot_region_destroy((int)u[0]) != 0)
      _exit(18);
  }
  if (mpsprot_region_destroy(own) != 0 || mpsprot_uninstall() != 0)
    _exit(19);
  _exit(0);
}

int main(void) {
  alarm(60);
  page = (long)mpsprot_page_size();
  CHECK(mpsprot_setup() == 0, "setup");
  int64_t out[4];
  int32_t rf;
  CHECK(mpsprot_region_create(PAGES * page, out) == 0, "create");
  slot = (int)out[0];
  base = (char *)(uintptr_t)out[1];
  char *alias = (char *)(uintptr_t)out[2];
  CHECK(mpsprot_region_set_policy(slot, MPSPROT_POLICY_UNPROTECT, 0) == 0, "policy");
  CHECK(mpsprot_protect(slot, 0, PAGES * page, MPSPROT_ACCESS_WRITE, &rf) == 0, "protect");
  base[1 * page] = 1; /* the parent's own write */

  int64_t features;
  int uffd = mpsprot_probe_uffd_wp_async(&features);
  if (uffd == 0) {
    CHECK(mpsprot_region_create(PAGES * page, out) == 0, "create the uffd region");
    uslot = (int)out[0];
    ubase = (char *)(uintptr_t)out[1];
    int err = mpsprot_uffd_attach(uslot);
    CHECK(err == 0, "uffd attach: %s", strerror(err));
    if (err != 0)
      uslot = -1;
    if (err == 0) {
      /* A first harvest opens (and caches) /proc/self/pagemap before the fork. */
      uint64_t none[1] = {0};
      int64_t n = -1;
      CHECK(mpsprot_uffd_harvest(uslot, 0, PAGES, none, &n) == 0 && n == 0, "clean harvest");
      ubase[2 * page] = 1;
    }
  } else {
    printf("test_fork: userfaultfd async write-protect unavailable here (%s): its checks are"
           " skipped\n", strerror(uffd));
  }

  int status = child_run(child_writes_parent_region, 20, NULL);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
        "a child's write to the parent's region dies by SIGSEGV: status %#x", status);
  status = child_run(child_state, 20, NULL);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "the child sees no region of the parent and makes its own: %s %d (see child_state)",
        WIFSIGNALED(status) ? "signal" : "exit code",
        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));

  CHECK(alias[3 * page] == 0, "the parent's memory is unchanged by the child");
  uint64_t bits[1] = {0};
  int64_t found = 0;
  CHECK(mpsprot_harvest(slot, 0, PAGES, MPSPROT_ACCESS_WRITE, bits, &found) == 0, "harvest");
  CHECK(found == 1 && bits[0] == (1u << 1),
        "the parent's harvest reports exactly its own write (page 1): found %ld, bits %#lx",
        (long)found, (unsigned long)bits[0]);
  if (uslot >= 0) {
    bits[0] = 0;
    int err = mpsprot_uffd_harvest(uslot, 0, PAGES, bits, &found);
    CHECK(err == 0 && bits[0] == (1u << 2),
          "the parent's userfaultfd harvest reports its own write (page 2): %s, bits %#lx",
          strerror(err), (unsigned long)bits[0]);
    CHECK(mpsprot_uffd_detach(uslot) == 0, "detach");
    CHECK(mpsprot_region_destroy(uslot) == 0, "destroy the uffd region");
  }
  CHECK(mpsprot_region_destroy(slot) == 0, "destroy");
  return check_report("test_fork");
}
