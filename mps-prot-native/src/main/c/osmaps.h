/* osmaps.h -- the OS's own list of the process's mappings, read by the shim itself
 * (docs/design/prot.md .sol.restore, .if.sync)
 *
 * ProtSync and the record's adoption after a failed restore ask the OS what protection
 * the pages of a region really have, in C, while the shim holds the BUSY bits of those
 * pages: no Java runs while a faulting thread may be waiting on them (design rule 2).
 * One function per OS: maps_linux.c (/proc/self/maps), maps_windows.c (VirtualQuery),
 * maps_darwin.c (ENOSYS: macOS has no /proc; NOT VERIFIED HERE).
 *
 * Never called from the fault handler (it may open and read a file); allocates nothing.
 */
#ifndef MPSPROT_OSMAPS_H
#define MPSPROT_OSMAPS_H

#include <stdint.h>

/* One mapping, as the OS reports it (not clipped to the range asked about). */
struct osmaps_entry {
  uintptr_t start, end;  /* [start, end) */
  int perms;             /* MPSPROT_QUERY_* bits (mpsprot.h): the accesses permitted */
  int identified;        /* 1: dev_major, dev_minor, ino and offset are the OS's */
  uint64_t dev_major, dev_minor, ino;
  uint64_t offset;       /* the offset in the mapped object of start, in bytes */
};

/* Called for each mapping in ascending order of address; a nonzero return stops the
 * scan, and osmaps_scan returns it. */
typedef int (*osmaps_fn)(void *arg, const struct osmaps_entry *e);

/* Calls fn for every mapping that overlaps [lo, hi), in ascending order (gaps, where
 * nothing is mapped, are not reported).  Returns 0, fn's nonzero return, or the errno
 * of the OS's refusal (opening or reading /proc/self/maps; ENOSYS where the OS has no
 * such list).  Before the first call of fn nothing is known; after a failure part-way,
 * fn has seen a prefix. */
int osmaps_scan(uintptr_t lo, uintptr_t hi, osmaps_fn fn, void *arg);

/* 1 if osmaps_scan identifies mappings (so that memory mapped over a region's pages by
 * someone else can be told from the region's own), else 0. */
int osmaps_identifies(void);

#endif /* MPSPROT_OSMAPS_H */
