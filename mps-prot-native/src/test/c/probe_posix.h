/* probe_posix.h -- probing protections on POSIX systems, shared by test_prot.c,
 * test_e2e_aarch64.c (Linux) and test_fault_darwin.c (macOS): whether an access faults
 * (a probe that catches SIGSEGV and SIGBUS with sigsetjmp, the module's handler replaced
 * for the duration), the permissions a ProtSet mode should give a page, and on Linux the
 * permissions /proc/self/maps gives an address.  The Windows tests' counterparts are in
 * testwin.h (tw_faults, tw_perms).  Everything here is static inline: a program uses
 * what it needs. */
#ifndef MPSPROT_PROBE_POSIX_H
#define MPSPROT_PROBE_POSIX_H

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mpsprot.h"

static sigjmp_buf probe_env;
static inline void probe_handler(int sig) { siglongjmp(probe_env, sig); }

/* 1 if a read (write == 0) or a write of *p faults (SIGSEGV, or SIGBUS as macOS may
 * raise).  The write stores the byte's own value: `*p = *p` (its read faults first on a
 * no-access page, where a write would fault too). */
static inline int faults(volatile char *p, int write) {
  struct sigaction sa, old_segv, old_bus;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = probe_handler;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &old_segv);
  sigaction(SIGBUS, &sa, &old_bus);
  int faulted = 0;
  if (sigsetjmp(probe_env, 1) == 0) {
    if (write)
      *p = *p;
    else
      (void)*p;
  } else {
    faulted = 1;
  }
  sigaction(SIGSEGV, &old_segv, NULL);
  sigaction(SIGBUS, &old_bus, NULL);
  return faulted;
}

/* The permissions ("rw", "r-", "--") a page protected against the accesses `mode`
 * should have. */
static inline const char *expected_perms(int mode) {
  return (mode & MPSPROT_ACCESS_READ) ? "--" : (mode & MPSPROT_ACCESS_WRITE) ? "r-" : "rw";
}

#ifdef __linux__
/* The permissions ("rw", "r-", "--") /proc/self/maps gives addr, or "??". */
static inline const char *os_perms(uintptr_t addr) {
  static char perms[3];
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  strcpy(perms, "??");
  while (f && fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char p[5];
    if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && addr >= lo && addr < hi) {
      perms[0] = p[0] == 'r' ? 'r' : '-';
      perms[1] = p[1] == 'w' ? 'w' : '-';
      break;
    }
  }
  if (f)
    fclose(f);
  return perms;
}
#endif

#endif /* MPSPROT_PROBE_POSIX_H */
