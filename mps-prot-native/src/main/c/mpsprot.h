/* mpsprot.h -- the C API of the mps-prot shim
 *
 * This is the only header a caller (the Java layer through JNA direct mapping, or a
 * native mutator written in C) includes.  Every function declared here is exported from
 * libmpsprot; everything else in the shim is hidden (-fvisibility=hidden; on Windows,
 * mpsprot.dll exports exactly the functions marked __declspec(dllexport), which
 * MPSPROT_API becomes when the DLL is built with MPSPROT_BUILD_DLL).
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

#if defined(_WIN32)
#if defined(MPSPROT_BUILD_DLL)
#define MPSPROT_API __declspec(dllexport)
#else
#define MPSPROT_API /* a caller, or a test linking the objects: plain declarations */
#endif
#else
#define MPSPROT_API __attribute__((visibility("default")))
#endif

#define MPSPROT_ACCESS_READ  1
#define MPSPROT_ACCESS_WRITE 2
#define MPSPROT_ACCESS_ALL   3

/* The number of region slots: a process can hold this many live regions at once (a
 * fixed table, so that the signal handler finds a region without locks; design
 * .sol.lookup).  The next mpsprot_region_create fails with ENFILE, stage
 * MPSPROT_STAGE_SLOTS, whatever the file-descriptor limit. */
#define MPSPROT_MAX_REGIONS 1024

/* The most pages a region may have: 2^31 - 1, so that page numbers, the record and
 * the bitmaps fit 32-bit indexes (the Java layer's buffers); 8 TiB less one page with
 * 4 KiB pages.  mpsprot_region_create refuses a larger size with EINVAL before any
 * system call. */
#define MPSPROT_MAX_REGION_PAGES 2147483647LL

/* Stages of mpsprot_region_create, reported in out[3] when it fails.  The names are
 * Linux's; on Windows MEMFD is CreateFileMapping, MAP_MUTATOR and MAP_ALIAS the two
 * MapViewOfFile calls, RECORD the bookkeeping VirtualAlloc (TRUNCATE does not occur);
 * on macOS MEMFD is shm_open and TRUNCATE its ftruncate. */
enum mpsprot_create_stage {
  MPSPROT_STAGE_NONE = 0,
  MPSPROT_STAGE_MEMFD = 1,      /* memfd_create */
  MPSPROT_STAGE_TRUNCATE = 2,   /* ftruncate of the memfd to the region size */
  MPSPROT_STAGE_MAP_MUTATOR = 3,/* mmap of the mutator's view */
  MPSPROT_STAGE_MAP_ALIAS = 4,  /* mmap of the collector's alias view */
  MPSPROT_STAGE_RECORD = 5,     /* mmap of the per-page protection record */
  MPSPROT_STAGE_SLOTS = 6,      /* no free region slot (MPSPROT_MAX_REGIONS live) */
  MPSPROT_STAGE_RESERVE = 7,    /* mmap reserving the address space of both views, the
                                 * bookkeeping and the guard pages (design .sol.guard) */
  MPSPROT_STAGE_NOFORK = 8      /* madvise(MADV_DONTFORK) of that reservation, or the
                                 * pthread_atfork registration (design .sol.fork) */
};

/* Version of this API; the Java layer refuses a shim whose version differs. */
MPSPROT_API int mpsprot_version(void);

/* The protection granularity: the OS page size, asked of the OS. */
MPSPROT_API int64_t mpsprot_page_size(void);

/* ProtSetup's native half: idempotent and thread-safe. */
MPSPROT_API int mpsprot_setup(void);

/* 1 if the shim's fault handler is installed, else 0. */
MPSPROT_API int mpsprot_handler_installed(void);

/* Creates a region of `size` bytes (a positive multiple of the page size, at most
 * MPSPROT_MAX_REGION_PAGES pages): one memfd mapped twice, the mutator's view
 * (read-write, its protection changed by mpsprot_protect) and the collector's alias
 * view (always read-write), each followed by an inaccessible guard page, and the
 * bookkeeping apart from both (design .sol.guard).  A forked child inherits none of it
 * (design .sol.fork).  On success returns 0 and sets out[0] = slot, out[1] = mutator
 * base, out[2] = alias base.  On failure returns the errno value and sets out[3] to
 * the stage that failed (MPSPROT_STAGE_NONE: a bad size; ENFILE with
 * MPSPROT_STAGE_SLOTS: MPSPROT_MAX_REGIONS regions are live); nothing stays mapped.
 * EINVAL if out is NULL. */
MPSPROT_API int mpsprot_region_create(int64_t size, int64_t *out);

/* Unregisters the slot first (so that no fault is attributed to it any more), waits
 * until no call that uses the slot (every function here that takes a slot pins it for
 * its duration) and no faulting thread is inside it, then unmaps both views and the
 * bookkeeping.  Returns 0, or EINVAL for a slot that is not live.  Any function that
 * takes the slot may run concurrently: it either completes before the unmapping or
 * returns its "not live" answer (EINVAL, 0). */
MPSPROT_API int mpsprot_region_destroy(int slot);

/* Sets the protection of [base + offset, base + offset + length) of the slot's mutator
 * view to forbid the accesses in `mode`, with one mprotect call, and records `mode` for
 * each page.  offset and length are multiples of the page size, inside the region (the
 * Java layer checks; the shim checks again and returns EINVAL).  A range holding a page
 * that is no longer the region's (ProtSync found it unmapped or replaced from outside:
 * docs/design/prot.md .sol.replaced) is refused with ENXIO before any change.
 * On failure the shim restores the pages' previous protection, run by run, from its
 * record and returns the errno of the failed call; *restore_failed says how the record
 * was left (design .sol.restore): MPSPROT_RESTORED (0: the restore worked), or, when the
 * restore failed too, MPSPROT_ADOPTED (the record took the OS's real protection, read
 * from /proc/self/maps by the shim while it held the pages) or MPSPROT_WIDENED (the OS
 * could not be read either: each page's record is the least restrictive of its old
 * value and `mode`, re-applied as far as the OS allows, so the record never forbids an
 * access the OS permits).  EINVAL (nothing done) if restore_failed is NULL or the slot
 * is not live. */
#define MPSPROT_RESTORED 0
#define MPSPROT_ADOPTED  1
#define MPSPROT_WIDENED  2
MPSPROT_API int mpsprot_protect(int slot, int64_t offset, int64_t length, int mode,
                                int32_t *restore_failed);

/* ProtSync of one region (design .if.sync), in the shim: compares the OS's real
 * protection of both views of the slot's region (on Linux from /proc/self/maps, on
 * Windows from VirtualQuery; ENOSYS on macOS) with the record, one mapping at a time
 * against the record eight bytes at a time, and reports each differing run.  A
 * difference is confirmed while the shim holds the BUSY bits of its pages, with a
 * second read of the OS's state; a page whose record changed since the first read is
 * not reported (the module itself was changing it).  With `repair`, each confirmed
 * difference is re-applied from the record (the alias view: read-write) under BUSY.
 * Pages that are unmapped, or replaced from outside (another device, inode or offset
 * than the region's memory: Linux only), are reported, never repaired, and marked in
 * the record: from then on the module changes nothing there (.sol.replaced).
 * base must be the region's mutator base (a slot reused by another region is refused
 * with EINVAL, as is a dead slot); pages are numbered 0 .. pages-1 for the mutator view
 * and pages .. 2*pages-1 for the alias view, and the scan starts at page `from`.
 * Runs go to out, 7 words each: base address, limit address, view (MPSPROT_VIEW_*), kind
 * (MPSPROT_SYNC_*), the recorded AccessSet (the alias view: 0), the OS's permissions
 * (MPSPROT_QUERY_* bits; -1 when unmapped), repaired (1 or 0).  At most max (>= 1)
 * runs; result[0] = runs written, result[1] = the page to start the next call from
 * (2*pages when the region is done; the rest was neither repaired nor marked).
 * Returns 0, EINVAL, or the errno of reading the OS's state (what was written stays
 * valid).  Takes no lock a faulting thread waits for except the BUSY bits, and those
 * only around C (an mprotect, a read of the OS's mappings); the region stays pinned
 * (its destruction waits) for the call's duration. */
#define MPSPROT_VIEW_MUTATOR 0
#define MPSPROT_VIEW_ALIAS   1
#define MPSPROT_SYNC_DIFFERENT 0 /* the region's memory, with another protection */
#define MPSPROT_SYNC_UNMAPPED  1 /* nothing mapped there any more */
#define MPSPROT_SYNC_REPLACED  2 /* something else mapped there (mmap MAP_FIXED) */
MPSPROT_API int mpsprot_region_sync(int slot, int64_t base, int repair, int64_t from,
                                    int64_t *out, int max, int64_t *result);

/* Address of the slot's protection record: one byte per page holding the AccessSet
 * last applied (0 if the slot is not live).  While a page's protection is changing, its
 * byte also carries the BUSY bit 0x80, and a page that is no longer the region's
 * carries 0x40 (0x20: its alias twin) (region.h): readers mask with MPSPROT_ACCESS_ALL.
 * The pointer is valid only until mpsprot_region_destroy of the slot begins: the
 * caller must not let a destroy run while it reads through it. */
MPSPROT_API int64_t mpsprot_region_record(int slot);

/* Makes the slot's alias view read-write again (ProtSync's repair of a change made
 * outside the module). */
MPSPROT_API int mpsprot_region_alias_reset(int slot);

/* The slot whose mutator view contains addr, or -1.  Lock-free. */
MPSPROT_API int mpsprot_region_find(int64_t addr);

/* The number of live regions. */
MPSPROT_API int mpsprot_region_count(void);

/* ProtTramp's native half: marks the calling thread as a mutator in the module's care
 * (nested calls count).  mpsprot_mutator_depth answers for the calling thread.  The
 * fault path reads it: a fault taken while the depth is positive carries
 * MPSPROT_CTX_TRAMP in its context, and a fail-fast message says "a registered mutator".
 * It changes no policy's decision (design/prot.md .if.tramp). */
MPSPROT_API void mpsprot_mutator_enter(void);
MPSPROT_API void mpsprot_mutator_leave(void);
MPSPROT_API int mpsprot_mutator_depth(void);

/* Backend probes (see probe_linux.c).  Each returns 0 when the backend works, else an
 * errno-like reason code; *detail receives a backend-specific value (for userfaultfd,
 * the feature bits the kernel reported).  EINVAL if detail is NULL (ENOSYS off Linux). */
MPSPROT_API int mpsprot_probe_uffd_wp_async(int64_t *detail);
MPSPROT_API int mpsprot_probe_soft_dirty(int64_t *detail);


/* ---------------------------------------------------------------------------------
 * The fault path (docs/design/fault.md).  Implemented in protsg_posix.c with the hooks
 * of protsg_linux.c or protsg_darwin.c (the handler: signals on Linux and macOS) and
 * protsg_windows.c (a vectored exception handler on Windows), prmc_*.c (the mutator
 * fault context), barrier.c (policies, harvest, handoff) and access.c (the
 * accessors).
 * --------------------------------------------------------------------------------- */

/* Barrier policies, per region (.policy). */
#define MPSPROT_POLICY_NONE       0 /* a fault here is fatal: fail fast with a message */
#define MPSPROT_POLICY_UNPROTECT  1 /* open the page in the handler, record it */
#define MPSPROT_POLICY_STEP       2 /* emulate the instruction, log it; else as UNPROTECT */
#define MPSPROT_POLICY_HANDOFF    3 /* park the mutator; a Java collector resolves it */

/* What HANDOFF does with a fault that may not park (taken outside native state). */
#define MPSPROT_FALLBACK_FAIL_FAST 0
#define MPSPROT_FALLBACK_UNPROTECT 1

/* Architectures in mpsprot_context.arch. */
#define MPSPROT_ARCH_X86_64  1
#define MPSPROT_ARCH_AARCH64 2

/* The mutator fault context (MPS: MutatorFaultContext), a fixed layout that the Java
 * layer reads through a direct ByteBuffer at these offsets.
 * x86-64: regs[0..15] = rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15 (the encoding
 *   order of ModRM/SIB), regs[16] = rflags, regs[17] = MXCSR (valid only with
 *   MPSPROT_CTX_MXCSR); vregs[0..15] = xmm0..xmm15 (low 16 bytes);
 *   vext[0..15] = bits 128..255 of ymm0..ymm15 (from the XSAVE area of the signal frame);
 *   with MPSPROT_CTX_AVX512 also zmmh[0..15] = bits 256..511 of zmm0..zmm15, zmmx[0..15] =
 *   zmm16..zmm31 (64 bytes each), kregs[0..7] = the opmask registers k0..k7 (the XSAVE
 *   components ZMM_Hi256, Hi16_ZMM and opmask).
 * aarch64: regs[0..30] = x0..x30, regs[31] = sp; vregs[0..15] = v0..v15,
 *   vext[0..15] = v16..v31 (the FPSIMD record of the signal frame).
 * vext is valid only when flags has MPSPROT_CTX_VEXT (the frame carried that state: on
 *   x86-64 the AVX component, and the AVX-512 ZMM_Hi256 one when the OS enables it;
 *   Linux only); without it the instructions that need it are not stepped.
 * access: MPSPROT_ACCESS_READ, _WRITE, or both when the kind cannot be told.
 * The context is a copy: a collector that steps the instruction changes regs, vregs and
 * pc here, and the parked handler copies them back into the thread's ucontext. */
struct mpsprot_context {
  uint64_t address;   /*   0: the exact fault address (not rounded) */
  uint64_t pc;        /*   8 */
  uint64_t sp;        /*  16 */
  int32_t access;     /*  24 */
  int32_t slot;       /*  28: the region's slot */
  int32_t tid;        /*  32: the kernel thread id */
  int32_t arch;       /*  36 */
  int32_t insn_len;   /*  40: bytes valid in insn (fewer near an unreadable page) */
  int32_t flags;      /*  44: MPSPROT_CTX_* */
  uint64_t regs[32];  /*  48 */
  uint8_t insn[16];   /* 304: the instruction bytes at pc */
  uint8_t vregs[16][16]; /* 320 */
  uint64_t ucontext;  /* 576: the thread's ucontext_t * (Windows: CONTEXT *), valid only
                       * while it is parked */
  uint8_t vext[16][16]; /* 584: see above (MPSPROT_CTX_VEXT) */
  uint8_t zmmh[16][32]; /* 840: x86-64 AVX-512 (MPSPROT_CTX_AVX512), see above */
  uint8_t zmmx[16][64]; /* 1352 */
  uint64_t kregs[8];    /* 2376 */
};                      /* 2440 bytes */
#define MPSPROT_CTX_NATIVE  1 /* taken in native state (accessor or native mutator) */
#define MPSPROT_CTX_STEPPED 2 /* the instruction was emulated; resume after it */
#define MPSPROT_CTX_ESR     4 /* aarch64: the kind came from ESR, not the instruction */
#define MPSPROT_CTX_VEXT    8 /* vext holds the upper vector state (see above) */
#define MPSPROT_CTX_MXCSR  16 /* x86-64: regs[17] holds the mutator's MXCSR (Linux frames) */
#define MPSPROT_CTX_TRAMP  32 /* the thread was a registered mutator (mpsprot_mutator_enter,
                               * Prot.tramp) when it faulted (design/prot.md .if.tramp) */
#define MPSPROT_CTX_AVX512 64 /* x86-64: zmmh, zmmx and kregs hold the AVX-512 state (Linux
                               * frames on a CPU and OS with AVX-512; EVEX forms need it) */

/* Sets the slot's policy and, for HANDOFF, the fallback.  EINVAL for a bad value. */
MPSPROT_API int mpsprot_region_set_policy(int slot, int policy, int fallback);

/* The slot's bitmaps, one bit per page (bit p%64 of word p/64): 0 = dirty (a write
 * opened the page), 1 = touched (a read opened it).  0 if the slot is not live or
 * `which` is neither.  As with mpsprot_region_record, the pointer is valid only until
 * mpsprot_region_destroy of the slot begins. */
MPSPROT_API int64_t mpsprot_region_bitmap(int slot, int which);

/* Harvest (.sol.harvest): for every page of [first, first + count) whose dirty bit is
 * set, atomically with respect to faulting threads: protect it with mode_after, clear
 * its bit, and set bit (p - first) in out[] (caller-zeroed, count bits).  Returns 0 or
 * an errno; *found = pages reported.  No write is ever missed: a write after the
 * re-protection faults and sets the bit again.  A failed harvest is undone as far as
 * the dirty bits go: the failing run is restored as mpsprot_protect restores (or its
 * record adopts the OS's state), and every dirty bit this call cleared is set again
 * (out[] is cleared and *found is 0), so the next harvest reports every page written.
 * ENXIO, before any change, when the range holds a page no longer the region's
 * (.sol.replaced).  EINVAL if out or found is NULL. */
MPSPROT_API int mpsprot_harvest(int slot, int64_t first, int64_t count, int mode_after,
                                uint64_t *out, int64_t *found);

/* Harvest of the touched bits (.sol.harvest.touched): mpsprot_harvest's contract with
 * "touched" for "dirty": every page of [first, first + count) whose touched bit is set (a
 * read fault opened it) is protected with mode_after, its bit cleared and reported in
 * out[], atomically with respect to faulting threads, so a read after the re-protection
 * (with mode_after forbidding READ) faults and sets the bit again.  The dirty bits are not
 * changed.  A failed call sets back every touched bit it cleared (nothing reported, none
 * lost); ENXIO and EINVAL as mpsprot_harvest. */
MPSPROT_API int mpsprot_harvest_touched(int slot, int64_t first, int64_t count, int mode_after,
                                        uint64_t *out, int64_t *found);

/* Restores the previous SIGSEGV/SIGBUS actions (Windows: removes the vectored
 * exception handler); a previous action with SA_RESETHAND that was called is restored
 * as SIG_DFL, as the kernel would hold it (docs/design/fault.md .handler.flags).
 * Refused, with nothing changed: EBUSY while any region is live; EEXIST (Linux, macOS)
 * when another handler was installed over the module's since setup (restoring the
 * action before ours would remove that one): whoever installed it must put back the
 * action it replaced first.  Windows' vectored handlers are independent of one another,
 * so there EEXIST never occurs (EINVAL if RemoveVectoredExceptionHandler refuses).
 * 0 when the handler is not installed. */
MPSPROT_API int mpsprot_uninstall(void);

/* Accessors (.sol.accessor): loads and stores that run in native code, so that a fault
 * they take happens in native state, where parking the thread is safe.  The handler
 * recognises them by pc (they live in their own section). */
MPSPROT_API uint8_t mpsprot_get_u8(int64_t addr);
MPSPROT_API uint16_t mpsprot_get_u16(int64_t addr);
MPSPROT_API uint32_t mpsprot_get_u32(int64_t addr);
MPSPROT_API uint64_t mpsprot_get_u64(int64_t addr);
MPSPROT_API void mpsprot_put_u8(int64_t addr, uint8_t v);
MPSPROT_API void mpsprot_put_u16(int64_t addr, uint16_t v);
MPSPROT_API void mpsprot_put_u32(int64_t addr, uint32_t v);
MPSPROT_API void mpsprot_put_u64(int64_t addr, uint64_t v);
MPSPROT_API void mpsprot_copy(int64_t dst, int64_t src, int64_t len);

/* A native thread (or a Java thread while it is inside a native call of its own)
 * declares itself a native mutator: its faults may park (nested calls count).  For C
 * code only (design/fault.md .rule.native.declare): the declaration is a thread-local
 * flag the handler trusts, so a Java thread declared around Java code would park in Java
 * state on a fault and could deadlock the JVM at the next safepoint.  C code that a Java
 * thread calls through JNI/JNA/FFM brackets its own accesses with begin/end, and must
 * not return to Java in between. */
MPSPROT_API void mpsprot_native_mutator_begin(void);
MPSPROT_API void mpsprot_native_mutator_end(void);

/* The handoff (.sol.handoff).  A barrier thread waits (in native code, so it never
 * holds up a safepoint) for a parked mutator; >= 0 is a ticket, -1 a timeout. */
MPSPROT_API int mpsprot_handoff_wait(int timeout_ms);
/* The context of a ticket's fault (struct mpsprot_context *), valid until resolved. */
MPSPROT_API int64_t mpsprot_handoff_context(int ticket);
#define MPSPROT_RESOLVE_RESUME 0 /* resume the mutator (retry, or after a step) */
#define MPSPROT_RESOLVE_FAIL   1 /* the fault cannot be resolved: the mutator fails fast */
MPSPROT_API int mpsprot_handoff_resolve(int ticket, int outcome);
/* Parked mutators now: out[3*i] = tid, out[3*i+1] = address, out[3*i+2] = ns parked.
 * Returns how many (at most max), or -1 if out is NULL and max > 0. */
MPSPROT_API int mpsprot_handoff_parked(int64_t *out, int max);

/* Counters (.counters), monotonic since setup. */
#define MPSPROT_COUNT_FAULTS_READ      0 /* faults in regions, by access */
#define MPSPROT_COUNT_FAULTS_WRITE     1
#define MPSPROT_COUNT_UNPROTECTED      2 /* resolved by UNPROTECT (or a fallback to it) */
#define MPSPROT_COUNT_STEPPED          3 /* resolved by STEP */
#define MPSPROT_COUNT_HANDOFFS         4 /* resolved by a Java collector */
#define MPSPROT_COUNT_SPURIOUS         5 /* the page was already open: retried */
#define MPSPROT_COUNT_CHAINED          6 /* not the module's: passed to the previous handler */
#define MPSPROT_COUNT_FAIL_FAST        7
#define MPSPROT_COUNT_LOG_FULL         8 /* STEP fell back because the log was full */
#define MPSPROT_COUNT_N                9
MPSPROT_API int64_t mpsprot_counter(int which);

/* Instruction stepping (MPS: ProtCanStepInstruction / ProtStepInstruction) on a
 * context; ctx is a struct mpsprot_context *.  can_step returns 1 or 0 (0 once the
 * context was stepped); step returns 0, ENOSYS (MPS's ResUNIMPL) when the instruction
 * cannot be stepped, or EALREADY when the context carries MPSPROT_CTX_STEPPED (a step
 * was made: a second one would emulate the next instruction too, so it is refused and
 * nothing changes); EINVAL for a NULL ctx.  One step per fault. */
MPSPROT_API int mpsprot_context_can_step(int64_t ctx);
MPSPROT_API int mpsprot_context_step(int64_t ctx);

/* The fault-event ring (docs/design/fault.md .ring): while sampling is on, the handler
 * records every period-th fault it sees (the module's, and the faults it passes on) in
 * a fixed ring of MPSPROT_FAULT_RING_CAPACITY records, without allocation or locks; a
 * record that finds the ring full is dropped and counted.  Off (period 0) by default:
 * the handler then reads one atomic word per fault and records nothing.  The Java side
 * turns it on while a JFR recording wants org.mpsprot.Fault events and drains it.
 *
 * mpsprot_fault_ring_sample sets the period (0 off, 1 every fault, n every n-th) and
 * returns the previous one, or -1 (nothing changed) for a negative period.
 * mpsprot_fault_ring_drain moves up to max records, oldest first, into out:
 * MPSPROT_FAULT_RING_WORDS words each (address; time of the fault, mpsprot's monotonic
 * clock in ns; ns from the handler's entry until it resumed the thread or passed the
 * fault on, a HANDOFF park included; the kernel thread id; the region slot or -1;
 * access | policy << 8 | resolution << 16), and returns how many; -1 if out is NULL
 * and max > 0.  It never waits for a record being written (that one and those after it
 * come with the next drain).  mpsprot_fault_ring_dropped: records dropped because the
 * ring was full, since the process started (monotonic).  Thread-safe; the drains may
 * run concurrently with one another. */
#define MPSPROT_FAULT_RING_CAPACITY 4096
#define MPSPROT_FAULT_RING_WORDS    6
#define MPSPROT_FAULT_UNPROTECTED 1 /* the policy UNPROTECT opened the page */
#define MPSPROT_FAULT_STEPPED     2 /* the policy STEP emulated the instruction */
#define MPSPROT_FAULT_HANDED_OFF  3 /* a Java collector resolved it (HANDOFF) */
#define MPSPROT_FAULT_FELL_BACK   4 /* the policy could not, its fallback did: STEP that
                                       unprotected, HANDOFF outside native state that
                                       unprotected, UNPROTECT refused by the OS that stepped */
#define MPSPROT_FAULT_CHAINED     5 /* not the module's: passed to the previous handler */
#define MPSPROT_FAULT_SPURIOUS    6 /* another thread had opened the page: retried */
MPSPROT_API int mpsprot_fault_ring_sample(int period);
MPSPROT_API int mpsprot_fault_ring_drain(int64_t *out, int max);
MPSPROT_API int64_t mpsprot_fault_ring_dropped(void);

/* The ns a ticket's mutator has been parked (since its handler posted the fault), for
 * the barrier thread that holds the ticket; -1 for a ticket that is not taken. */
MPSPROT_API int64_t mpsprot_handoff_parked_ns(int ticket);

/* The STEP policy's access log, one per region (capacity MPSPROT_LOG_CAPACITY). */
#define MPSPROT_LOG_CAPACITY 4096
struct mpsprot_log_entry {
  uint64_t address;  /*  0: first byte accessed */
  uint64_t before;   /*  8: the memory's value before (loads: the value loaded) */
  uint64_t after;    /* 16: the memory's value after (loads: the same) */
  int32_t access;    /* 24: MPSPROT_ACCESS_READ or _WRITE */
  int32_t size;      /* 28: bytes: 1, 2, 4, 8 (16-byte accesses log the low 8) */
};                   /* 32 bytes */
/* Moves up to max entries of the slot's log into out, oldest first; returns how many
 * (0 if out is NULL or the slot is not live). */
MPSPROT_API int mpsprot_log_drain(int slot, struct mpsprot_log_entry *out, int max);

/* What the OS says about the memory at `addr` (ProtSync's view of the process on an OS
 * without /proc/self/maps).  Windows (prot_windows.c): one VirtualQuery; on success
 * returns 0 and sets out[0] = addr rounded down to its page (MEMORY_BASIC_INFORMATION's
 * BaseAddress: VirtualQuery scans forward from the queried page, never backward),
 * out[1] = the size in bytes of the run of pages from there on that share one state
 * and protection, out[2] = 1 if the run is committed (MEM_COMMIT),
 * else 0 (reserved or free: nothing mapped there), out[3] = the accesses the OS
 * permits there as MPSPROT_QUERY_* bits (0 when not committed; a PAGE_GUARD page
 * permits nothing until its first touch, so it reports 0).  Note that out[3] names
 * permitted accesses, the opposite sense of an AccessSet, which names forbidden ones.
 * An address above the user address space returns EINVAL (ERROR_INVALID_PARAMETER;
 * the raw code is mpsprot_win_last_error()).  Linux and macOS (prot_posix.c): always
 * ENOSYS with out[] untouched; Linux reads /proc/self/maps instead. */
#define MPSPROT_QUERY_READ  1
#define MPSPROT_QUERY_WRITE 2
#define MPSPROT_QUERY_EXEC  4
MPSPROT_API int mpsprot_query(int64_t addr, int64_t *out);

/* ---------------------------------------------------------------------------------
 * Dirty-page tracking by userfaultfd write-protect in async mode, harvested with the
 * PAGEMAP_SCAN ioctl (Linux 6.7+).  Implemented in dirty_uffd_linux.c; elsewhere every
 * function returns ENOSYS.  Probe first with mpsprot_probe_uffd_wp_async.
 * Tracking covers the slot's mutator view only: writes through the alias view (the
 * collector's own) are never reported.  A write is resolved by the kernel (no signal).
 * Lifecycle: the Java layer calls mpsprot_uffd_detach before mpsprot_region_destroy;
 * detach after destroy only closes the stale userfaultfd and returns EINVAL.
 * --------------------------------------------------------------------------------- */

/* Starts tracking the slot's mutator view [base, limit): every page write-protected
 * (clean).  0, EINVAL (slot not live), EBUSY (already attached), EOPNOTSUPP (the kernel
 * lacks async write-protect), or the errno of userfaultfd(2) / its ioctls. */
MPSPROT_API int mpsprot_uffd_attach(int slot);

/* Reports the pages of [first, first + count) written since their last harvest (or the
 * attach) and write-protects them again in the same PAGEMAP_SCAN walk, so no write is
 * ever missed: sets bit (p - first) of out[] (caller-zeroed, count bits) per page and
 * *found = pages reported.  0, EINVAL (slot not live, range outside the region),
 * ENOENT (not attached).  If the scan itself fails, every page from the failure on is
 * reported (coarser, never lost) and its errno returned. */
MPSPROT_API int mpsprot_uffd_harvest(int slot, int64_t first, int64_t count, uint64_t *out,
                                     int64_t *found);

/* Stops tracking (UFFDIO_UNREGISTER) and closes the userfaultfd.  0, or EINVAL when the
 * slot was not attached or its region was destroyed first (the fd is closed anyway). */
MPSPROT_API int mpsprot_uffd_detach(int slot);

/* ---------------------------------------------------------------------------------
 * Fault injection (docs/design/prot.md .inject; inject.h).  Only the test library
 * (target/inject/, built with -DMPSPROT_INJECT and never shipped) injects; the release
 * library answers ENOSYS and -1, so the API is the same in both.
 * --------------------------------------------------------------------------------- */
#define MPSPROT_INJECT_MMAP        0 /* mmap: the reservation, the views, the bookkeeping,
                                    * probes; and the region's madvise(MADV_DONTFORK) */
#define MPSPROT_INJECT_MPROTECT    1 /* mprotect (the handler's too) */
#define MPSPROT_INJECT_MEMFD       2 /* memfd_create (macOS: shm_open) */
#define MPSPROT_INJECT_FTRUNCATE   3 /* ftruncate of the memfd */
#define MPSPROT_INJECT_IOCTL       4 /* ioctl: userfaultfd and PAGEMAP_SCAN */
#define MPSPROT_INJECT_USERFAULTFD 5 /* the userfaultfd syscall */
#define MPSPROT_INJECT_PROC_OPEN   6 /* open of a /proc/self file */
#define MPSPROT_INJECT_PROC_READ   7 /* read of a /proc/self file */
#define MPSPROT_INJECT_FUTEX       8 /* futex wait (a failed wait returns at once) */
#define MPSPROT_INJECT_N           9

/* Arms `site`: counting calls from now, calls nth .. nth + count - 1 (1-based) fail with
 * err instead of being made (count 0 or nth 0: disarm, counting from 0 again).  0, EINVAL,
 * or ENOSYS in the release library. */
MPSPROT_API int mpsprot_inject(int site, int64_t nth, int64_t count, int err);

/* Calls seen at `site` since it was armed (which 0) or calls made to fail (which 1); -1 in
 * the release library or for a bad site. */
MPSPROT_API int64_t mpsprot_inject_count(int site, int which);

/* Pause points: places where a test stops a thread to set up an interleaving.  The
 * pinning of a slot by an entry point (region_pin_slot, never the handler): 1 after it
 * saw the slot LIVE, 2 after it added its pin, 3 once the pin holds (LIVE seen again). */
#define MPSPROT_INJECT_PAUSE_PIN_SEEN  1
#define MPSPROT_INJECT_PAUSE_PIN_ADDED 2
#define MPSPROT_INJECT_PAUSE_PIN_HELD  3
typedef void (*mpsprot_inject_pause_fn)(int point);

/* Calls fn(point) at every pause point, on the thread that reaches it (NULL: none); the
 * test's fn decides which threads to stop.  0, or ENOSYS in the release library. */
MPSPROT_API int mpsprot_inject_pause(mpsprot_inject_pause_fn fn);

/* ---------------------------------------------------------------------------------
 * Windows only (declared and exported only when _WIN32 is defined): write watch and
 * the raw error code.  Implemented in dirty_ww_windows.c and prot_windows.c.
 *
 * Dirty-page tracking with GetWriteWatch / ResetWriteWatch (docs/design/os.md
 * .os.windows.ww).  Write watch needs private memory allocated with MEM_WRITE_WATCH,
 * not the regions' section views, so it tracks memory of its own: no fault, no handler,
 * no protection change; the OS records the first write of each page.
 * --------------------------------------------------------------------------------- */
/* The primitives benchmark's loops in C inside the calling process (bench_linux.c;
 * docs/performance.md .primitives.inproc), so that `java -jar mps-prot.jar primitives`
 * can set each Java loop beside the same loop in C in the same JVM process.  Linux only:
 * the other OSes' shims do not export it.  `which`:
 * MPSPROT_BENCH_*; n operations; busy != 0 runs a second thread spinning on another
 * core meanwhile.  For TRAP_UNPROT, slot and base name a region of the module whose
 * policy is UNPROTECT (the module's handler resolves the faults), for SAME_MODE_SHIM a
 * region of at least two read-write pages; the others map memory
 * of their own, as the standalone program does.  out[0] (and out[1] for PROT1: unprot)
 * receive ns per operation.  Returns 0 or the errno of the failing call.  A benchmark,
 * not a contract: its system calls do not go through the fault-injection seam. */
#define MPSPROT_BENCH_PROT1        0 /* out[0] prot1, out[1] unprot */
#define MPSPROT_BENCH_PROT1_MERGED 1
#define MPSPROT_BENCH_SAME_MODE    2
#define MPSPROT_BENCH_PROTN        3 /* per page, over n pages */
#define MPSPROT_BENCH_TRAP_UNPROT  4
#define MPSPROT_BENCH_SAME_MODE_SHIM 5 /* same_mode through mpsprot_protect on slot's page 1 */
/* PROT1 and PROT1_MERGED with plain mprotect on a region of the module at base (2n+1 and
 * n+1 read-write pages): the same loops on the module's memory layout (its views sit
 * between guard pages in one reservation).  Every page is read-write again at the end,
 * so the record still holds. */
#define MPSPROT_BENCH_PROT1_AT        6
#define MPSPROT_BENCH_PROT1_MERGED_AT 7
MPSPROT_API int mpsprot_bench_loop(int which, int64_t n, int busy, int slot, int64_t base,
                                   double *out);

#if defined(_WIN32)
/* Allocates `size` bytes (a positive multiple of the page size) of zeroed, read-write,
 * write-watched memory; *base receives its address.  0, EINVAL, ENFILE (256 live
 * allocations), or the errno of VirtualAlloc's failure (ENOMEM: commit limit). */
MPSPROT_API int mpsprot_ww_alloc(int64_t size, int64_t *base);

/* Reports the pages of [first, first + count) (page numbers relative to base) written
 * since their last harvest or reset (or the allocation), and resets them in the same
 * kernel operation, so no write is ever missed: sets bit (p - first) of out[]
 * (caller-zeroed, count bits) per page and *found = pages reported.  0, EINVAL (base not
 * from mpsprot_ww_alloc, range outside it), or the errno of GetWriteWatch's failure
 * (the pages from the failing call on stay recorded for the next harvest). */
MPSPROT_API int mpsprot_ww_harvest(int64_t base, int64_t first, int64_t count,
                                   uint64_t *out, int64_t *found);

/* Forgets the writes to pages [first, first + count) of the allocation at base. */
MPSPROT_API int mpsprot_ww_reset(int64_t base, int64_t first, int64_t count);

/* Releases the allocation at base.  0, or EINVAL when base is not a live allocation. */
MPSPROT_API int mpsprot_ww_free(int64_t base);

/* The raw GetLastError code of the last Windows call that failed in the shim on the
 * calling thread (its errno value is what the failing function returned). */
MPSPROT_API uint32_t mpsprot_win_last_error(void);
#endif /* _WIN32 */

#endif /* MPSPROT_H */
