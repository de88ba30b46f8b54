/* dirty_uffd.h -- what the rest of the shim calls in dirty_uffd_linux.c besides the
 * mpsprot_uffd_* API of mpsprot.h
 */
#ifndef MPSPROT_DIRTY_UFFD_H
#define MPSPROT_DIRTY_UFFD_H

/* In a forked child (prot.c's pthread_atfork child handler, design .sol.fork): closes
 * and forgets the userfaultfds of the uffd table and the cached /proc/self/pagemap fd,
 * which still name the parent's address space, and makes the module's locks usable.
 * Only stores, close() and lock re-initialisation: the child may have been forked from
 * a multi-threaded process.  A no-op where there is no userfaultfd. */
void uffd_after_fork_child(void);

#endif /* MPSPROT_DIRTY_UFFD_H */
