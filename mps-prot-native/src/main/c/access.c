/* access.c -- the accessors (design .sol.accessor)
 *
 * Loads and stores of the mutator's view that run in native code: a Java thread that
 * calls one (through JNA) is in the JVM's "in native" state, so a fault it takes may
 * park the thread until a Java collector resolves it (.rule.native).  The handler knows
 * these functions by their pc: they are the only code in their own section, whose
 * bounds the OS seam finds (osdep.h OSDEP_ACCESSOR and osdep_in_accessor: on Linux the
 * ELF section "mpsprot_access" with the linker's __start_mpsprot_access and
 * __stop_mpsprot_access; on Windows the grouped PE section .text$mpsprot_1 between two
 * marker functions; on macOS the Mach-O section __TEXT,__mpsprot_acc).  An explicit
 * section also keeps GCC from splitting a body into a hot and a cold part.
 *
 * Every access is volatile, so the compiler emits exactly one load or store of the
 * named width (an access is the unit the handler resolves and STEP emulates) and never
 * turns the copy loop into a call of libc's memcpy, whose pc would lie outside the
 * section.  noinline keeps every body inside the section.
 */
#include "mpsprot.h"
#include "osdep.h"

#include <stdint.h>

#define ACCESSOR OSDEP_ACCESSOR

ACCESSOR uint8_t mpsprot_get_u8(int64_t addr) {
  return *(volatile uint8_t *)(uintptr_t)addr;
}
ACCESSOR uint16_t mpsprot_get_u16(int64_t addr) {
  return *(volatile uint16_t *)(uintptr_t)addr;
}
ACCESSOR uint32_t mpsprot_get_u32(int64_t addr) {
  return *(volatile uint32_t *)(uintptr_t)addr;
}
ACCESSOR uint64_t mpsprot_get_u64(int64_t addr) {
  return *(volatile uint64_t *)(uintptr_t)addr;
}
ACCESSOR void mpsprot_put_u8(int64_t addr, uint8_t v) {
  *(volatile uint8_t *)(uintptr_t)addr = v;
}
ACCESSOR void mpsprot_put_u16(int64_t addr, uint16_t v) {
  *(volatile uint16_t *)(uintptr_t)addr = v;
}
ACCESSOR void mpsprot_put_u32(int64_t addr, uint32_t v) {
  *(volatile uint32_t *)(uintptr_t)addr = v;
}
ACCESSOR void mpsprot_put_u64(int64_t addr, uint64_t v) {
  *(volatile uint64_t *)(uintptr_t)addr = v;
}

/* Copies len bytes from src to dst with memmove's semantics (overlap allowed): 8-byte
 * words when both addresses are equally aligned, bytes otherwise and at the ends.
 * len <= 0 copies nothing. */
ACCESSOR void mpsprot_copy(int64_t dst, int64_t src, int64_t len) {
  if (len <= 0 || dst == src)
    return;
  uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src, n = (uintptr_t)len;
  int words = ((d ^ s) & 7) == 0;
  if (d < s || d >= s + n) { /* forwards */
    while (n > 0 && (!words || (d & 7) != 0)) {
      *(volatile uint8_t *)d = *(volatile const uint8_t *)s;
      d++, s++, n--;
    }
    while (n >= 8) {
      *(volatile uint64_t *)d = *(volatile const uint64_t *)s;
      d += 8, s += 8, n -= 8;
    }
    while (n > 0) {
      *(volatile uint8_t *)d = *(volatile const uint8_t *)s;
      d++, s++, n--;
    }
  } else { /* backwards: dst overlaps the end of src */
    d += n, s += n;
    while (n > 0 && (!words || (d & 7) != 0)) {
      d--, s--, n--;
      *(volatile uint8_t *)d = *(volatile const uint8_t *)s;
    }
    while (n >= 8) {
      d -= 8, s -= 8, n -= 8;
      *(volatile uint64_t *)d = *(volatile const uint64_t *)s;
    }
    while (n > 0) {
      d--, s--, n--;
      *(volatile uint8_t *)d = *(volatile const uint8_t *)s;
    }
  }
}
