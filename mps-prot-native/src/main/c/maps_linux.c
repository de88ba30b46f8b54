/* maps_linux.c -- the maps seam (osmaps.h) for Linux: /proc/self/maps, read in C
 *
 * Assumes the format of proc(5), one mapping a line, in ascending order of address:
 *     start-end perms offset major:minor inode [path]
 * with start, end, offset, major and minor in hex and inode in decimal (the kernel's
 * show_map_vma).  Only the fields up to the inode are parsed; the path, which may be
 * long, is skipped.
 *
 * Why here and not in Java: the record's adoption after a failed restore and ProtSync's
 * confirmation of a difference read the OS's state while the shim holds the BUSY bits of
 * the pages concerned; a thread that faults on such a page waits in the handler, and it
 * must never wait on Java (design rule 2: a Java reader would stop at a safepoint that
 * waits for the faulting thread).  So this reader allocates nothing (one fixed buffer on
 * the stack, read(2) in chunks), takes no lock, and calls only open, read and close,
 * each through the fault-injection seam (MPSPROT_INJECT_PROC_OPEN, _PROC_READ).  It is
 * not async-signal-safe in spirit (it may block on the file) and is never called from
 * the handler.
 *
 * The kernel renders the file a chunk at a time, resuming each read(2) after the last
 * address it returned; mappings that change between two reads may show either state, as
 * with any reader.  Lines are parsed whole: a line cut by the end of one read is kept
 * and completed by the next; a line longer than the buffer (a long path) is parsed from
 * its head and its rest skipped.  Reading stops at the first mapping at or above hi.
 */
#include "inject.h"
#include "mpsprot.h"
#include "osmaps.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define MAPS_BUFFER 4096

/* Parses a hex number at *p, advancing it; 0 if no digit. */
static int hex(const char **p, const char *end, uint64_t *v) {
  uint64_t x = 0;
  const char *s = *p;
  while (s < end) {
    char c = *s;
    unsigned d;
    if (c >= '0' && c <= '9')
      d = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = (unsigned)(c - 'A' + 10);
    else
      break;
    x = x << 4 | d;
    s++;
  }
  if (s == *p)
    return 0;
  *v = x;
  *p = s;
  return 1;
}

static int dec(const char **p, const char *end, uint64_t *v) {
  uint64_t x = 0;
  const char *s = *p;
  while (s < end && *s >= '0' && *s <= '9')
    x = x * 10 + (uint64_t)(*s++ - '0');
  if (s == *p)
    return 0;
  *v = x;
  *p = s;
  return 1;
}

static int expect(const char **p, const char *end, char c) {
  if (*p >= end || **p != c)
    return 0;
  (*p)++;
  return 1;
}

/* One line [s, end) into *e; 0 if it is not a maps line. */
static int parse_line(const char *s, const char *end, struct osmaps_entry *e) {
  uint64_t start, limit, offset, major, minor, ino;
  if (!hex(&s, end, &start) || !expect(&s, end, '-') || !hex(&s, end, &limit)
      || !expect(&s, end, ' ') || end - s < 5)
    return 0;
  e->perms = (s[0] == 'r' ? MPSPROT_QUERY_READ : 0) | (s[1] == 'w' ? MPSPROT_QUERY_WRITE : 0)
             | (s[2] == 'x' ? MPSPROT_QUERY_EXEC : 0);
  s += 4;
  if (!expect(&s, end, ' ') || !hex(&s, end, &offset) || !expect(&s, end, ' ')
      || !hex(&s, end, &major) || !expect(&s, end, ':') || !hex(&s, end, &minor)
      || !expect(&s, end, ' ') || !dec(&s, end, &ino))
    return 0;
  e->start = (uintptr_t)start;
  e->end = (uintptr_t)limit;
  e->identified = 1;
  e->dev_major = major;
  e->dev_minor = minor;
  e->ino = ino;
  e->offset = offset;
  return 1;
}

/* Handles one line: 1 = stop reading (past hi), 0 = go on, else fn's return (negated
 * into *stop). */
static int one_line(const char *s, const char *end, uintptr_t lo, uintptr_t hi, osmaps_fn fn,
                    void *arg, int *stop) {
  struct osmaps_entry e;
  if (!parse_line(s, end, &e))
    return 0; /* not a mapping line: never seen; skipped rather than trusted */
  if (e.start >= hi)
    return 1;
  if (e.end <= lo)
    return 0;
  *stop = fn(arg, &e);
  return *stop != 0;
}

int osmaps_scan(uintptr_t lo, uintptr_t hi, osmaps_fn fn, void *arg) {
  int saved = errno;
  int err = inject_fail(MPSPROT_INJECT_PROC_OPEN);
  int fd = -1;
  if (err == 0) {
    do
      fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
      err = errno;
  }
  if (err != 0) {
    errno = saved;
    return err;
  }
  char buf[MAPS_BUFFER];
  size_t len = 0;
  int skipping = 0, stop = 0, done = 0;
  while (!done) {
    ssize_t got = 0;
    err = inject_fail(MPSPROT_INJECT_PROC_READ);
    if (err == 0) {
      do
        got = read(fd, buf + len, sizeof buf - len);
      while (got < 0 && errno == EINTR);
      if (got < 0)
        err = errno;
    }
    if (err != 0)
      break;
    if (got == 0) { /* end of file: a last line without a newline */
      if (len > 0 && !skipping)
        one_line(buf, buf + len, lo, hi, fn, arg, &stop);
      break;
    }
    len += (size_t)got;
    size_t at = 0;
    for (;;) {
      char *nl = memchr(buf + at, '\n', len - at);
      if (nl == NULL)
        break;
      if (!skipping && one_line(buf + at, nl, lo, hi, fn, arg, &stop)) {
        done = 1;
        break;
      }
      skipping = 0;
      at = (size_t)(nl - buf) + 1;
    }
    if (done)
      break;
    if (at == 0 && len == sizeof buf) {
      /* A line longer than the buffer: its fields are at its head; skip its path. */
      if (!skipping && one_line(buf, buf + len, lo, hi, fn, arg, &stop))
        break;
      skipping = 1;
      len = 0;
    } else {
      memmove(buf, buf + at, len - at);
      len -= at;
    }
  }
  close(fd);
  errno = saved;
  return err != 0 ? err : stop;
}

int osmaps_identifies(void) { return 1; }
