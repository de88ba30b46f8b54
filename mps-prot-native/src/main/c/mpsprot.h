/* mpsprot.h -- the C API of the mps-prot shim
 *
 * This is the only header a caller (the Java layer through JNA direct mapping, or a
 * native mutator written in C) includes.  Every function declared here is exported from
 * libmpsprot; everything else in the shim is hidden (-fvisibility=hidden).
 *
 * Conventions (design/prot.md .shim.conventions):
 * - Functions that can fail return 0 on success or a positive errno value; they never
 *   set or depend on the caller's errno.
 * - Addresses and sizes are passed as 64-bit integers so that the Java side can map them
 *   to long without a Pointer object on hot paths.
 * - An AccessSet is an int: bit 0 (MPSPROT_ACCESS_READ) forbids reads, bit 1
 *   (MPSPROT_ACCESS_WRITE) forbids writes, as in MPS's AccessREAD / AccessWRITE.
 * - Regions are named by a slot number returned by mpsprot_region_create; a slot is
 *   reused only after mpsprot_region_destroy returned.
 * - Thread-safety: every function may be called from any thread.  Region creation and
 *   destruction serialise on one mutex; protection changes of distinct pages may run
 *   concurrently; the caller (the Java module) serialises changes to the same pages.
 */
#ifndef MPSPROT_H
#define MPSPROT_H

#include <stdint.h>

#define MPSPROT_API __attribute__((visibility("default")))

#define MPSPROT_ACCESS_READ  1
#define MPSPROT_ACCESS_WRITE 2
#define MPSPROT_ACCESS_ALL   3

/* The number of region slots: a process can hold this many live regions at once. */
#define MPSPROT_MAX_REGIONS 1024

/* Stages of mpsprot_region_create, reported in out[3] when it fails. */
enum mpsprot_create_stage {
  MPSPROT_STAGE_NONE = 0,
  MPSPROT_STAGE_MEMFD = 1,      /* memfd_create */
  MPSPROT_STAGE_TRUNCATE = 2,   /* ftruncate of the memfd to the region size */
  MPSPROT_STAGE_MAP_MUTATOR = 3,/* mmap of the mutator's view */
  MPSPROT_STAGE_MAP_ALIAS = 4,  /* mmap of the collector's alias view */
  MPSPROT_STAGE_RECORD = 5,     /* mmap of the per-page protection record */
  MPSPROT_STAGE_SLOTS = 6       /* no free region slot (MPSPROT_MAX_REGIONS live) */
};

/* Version of this API; the Java layer refuses a shim whose version differs. */
MPSPROT_API int mpsprot_version(void);

/* The protection granularity: the OS page size, asked of the OS. */
MPSPROT_API int64_t mpsprot_page_size(void);

/* ProtSetup's native half: idempotent and thread-safe. */
MPSPROT_API int mpsprot_setup(void);

/* 1 if the shim's fault handler is installed, else 0. */
MPSPROT_API int mpsprot_handler_installed(void);

/* Creates a region of `size` bytes (a positive multiple of the page size): one memfd
 * mapped twice, the mutator's view (read-write, its protection changed by
 * mpsprot_protect) and the collector's alias view (always read-write).  On success
 * returns 0 and sets out[0] = slot, out[1] = mutator base, out[2] = alias base.  On
 * failure returns the errno value and sets out[3] to the stage that failed; nothing
 * stays mapped. */
MPSPROT_API int mpsprot_region_create(int64_t size, int64_t *out);

/* Unregisters the slot first (so that no fault is attributed to it any more), then
 * unmaps both views and the record.  Returns 0, or EINVAL for a slot that is not live. */
MPSPROT_API int mpsprot_region_destroy(int slot);

/* Sets the protection of [base + offset, base + offset + length) of the slot's mutator
 * view to forbid the accesses in `mode`, with one mprotect call, and records `mode` for
 * each page.  offset and length are multiples of the page size, inside the region (the
 * Java layer checks; the shim checks again and returns EINVAL).
 * On failure the shim restores the pages' previous protection, run by run, from its
 * record and returns the errno of the failed call; *restore_failed is set to 1 if the
 * restore itself failed (the record and the OS may then differ until a sync). */
MPSPROT_API int mpsprot_protect(int slot, int64_t offset, int64_t length, int mode,
                                int32_t *restore_failed);

/* Address of the slot's protection record: one byte per page holding the AccessSet
 * last applied (0 if the slot is not live).  The record stays valid until the region
 * is destroyed. */
MPSPROT_API int64_t mpsprot_region_record(int slot);

/* Makes the slot's alias view read-write again (ProtSync's repair of a change made
 * outside the module). */
MPSPROT_API int mpsprot_region_alias_reset(int slot);

/* The slot whose mutator view contains addr, or -1.  Lock-free. */
MPSPROT_API int mpsprot_region_find(int64_t addr);

/* The number of live regions. */
MPSPROT_API int mpsprot_region_count(void);

/* ProtTramp's native half: marks the calling thread as a mutator in the module's care
 * (nested calls count).  mpsprot_mutator_depth answers for the calling thread. */
MPSPROT_API void mpsprot_mutator_enter(void);
MPSPROT_API void mpsprot_mutator_leave(void);
MPSPROT_API int mpsprot_mutator_depth(void);

/* Backend probes (see probe_linux.c).  Each returns 0 when the backend works, else an
 * errno-like reason code; *detail receives a backend-specific value (for userfaultfd,
 * the feature bits the kernel reported). */
MPSPROT_API int mpsprot_probe_uffd_wp_async(int64_t *detail);
MPSPROT_API int mpsprot_probe_soft_dirty(int64_t *detail);

#endif /* MPSPROT_H */
