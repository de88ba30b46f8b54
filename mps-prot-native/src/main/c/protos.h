/* protos.h -- the OS seam of the shim
 *
 * The generic part of the shim (prot.c, the region table) calls only these functions
 * for anything that depends on the operating system's memory (docs/design/os.md
 * .seam.os); the other OS-dependent primitives are in osdep.h.  prot_windows.c
 * implements them for Windows, prot_posix.c for Linux and macOS, where the two differ
 * only in how a region's shared memory is obtained: protos_shared_fd, from
 * prot_linux.c (memfd_create) or prot_darwin.c (an unlinked shm_open).
 *
 * Assumptions every implementation keeps:
 * - protos_set never grants execute permission (design .rule.noexec) and forbids writes
 *   whenever it forbids reads (no OS offers write-only pages: .if.set).
 * - Every function returns 0 or a positive errno value and leaves errno as it found it.
 * - None of them is called from the fault handler except protos_set, which must then
 *   be async-signal-safe (mprotect is; so is VirtualProtect inside a vectored handler).
 */
#ifndef MPSPROT_PROTOS_H
#define MPSPROT_PROTOS_H

#include <stddef.h>
#include <stdint.h>

int64_t protos_page_size(void);

/* The identity of a region's shared memory as the OS's list of mappings shows it
 * (osmaps.h): on Linux the memfd's device and inode, which /proc/self/maps prints on
 * every line mapping it.  known = 0 where the OS's list names no file (Windows). */
struct protos_id {
  int known;
  uint64_t dev_major, dev_minor, ino;
};

/* Maps a region (design .sol.guard): `size` bytes of fresh shared memory twice (the
 * mutator's view at *base, the alias view at *alias) and `book_bytes` of zeroed private
 * memory for the bookkeeping at *book, with an inaccessible guard page after each view
 * and between the views and the bookkeeping, none of it inherited by a forked child
 * (design .sol.fork).  *id receives the shared memory's identity (taken before its fd is
 * closed).  The caller keeps size and book_bytes small enough not to overflow
 * (MPSPROT_MAX_REGION_PAGES).  On failure nothing stays mapped and *stage names the
 * failing step (mpsprot.h's enum mpsprot_create_stage). */
int protos_map_region(size_t size, size_t book_bytes, uintptr_t *base, uintptr_t *alias,
                      void **book, int *stage, struct protos_id *id);

/* Unmaps everything protos_map_region mapped. */
void protos_unmap_region(uintptr_t base, uintptr_t alias, size_t size, void *book,
                         size_t book_bytes);

/* Unmaps everything protos_map_region mapped except the two views (the bookkeeping and
 * the guards), for a region some of whose view pages are no longer its own
 * (region_unmap_owned unmaps the rest of the views page run by page run).  Linux and
 * macOS only, like protos_unmap. */
void protos_unmap_frame(uintptr_t base, uintptr_t alias, size_t size, void *book,
                        size_t book_bytes);

/* Unmaps [base, base + len) of one view (a region's pages that are still its own, when
 * others were replaced: region_unmap_owned).  Linux and macOS only; never called on
 * Windows, where no page is ever marked foreign (osmaps.h). */
void protos_unmap(uintptr_t base, size_t len);

/* Applies the protection that forbids `mode` to [base, base + len). */
int protos_set(uintptr_t base, size_t len, int mode);

/* Zeroed memory outside the Java heap, and its release (a region's bookkeeping comes
 * from protos_map_region instead). */
void *protos_alloc(size_t bytes);
void protos_free(void *p, size_t bytes);

/* Linux and macOS only (called by prot_posix.c): *fd = a fresh, empty shared-memory
 * object that no other process can open, for protos_map_region to size, map twice and
 * close.  A failure is reported as stage MPSPROT_STAGE_MEMFD. */
int protos_shared_fd(int *fd);

#endif /* MPSPROT_PROTOS_H */
