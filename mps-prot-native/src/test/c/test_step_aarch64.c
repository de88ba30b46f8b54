/* test_step_aarch64.c -- the aarch64 stepping decoder and emulator, table-driven on
 * encodings written from the Arm ARM (each word cross-checked with GNU as for the
 * assembly in its name), the access-kind helper, and a fixed-seed fuzz over random words.
 * Runs on every host: the decoder is plain C over struct mpsprot_context. */
#include "step_test.h"

#define SP 31
#define XZR 31
#define RD MPSPROT_ACCESS_READ
#define WR MPSPROT_ACCESS_WRITE

#define MEMV {0x8877665544332211ull, 0xFFEEDDCCBBAA9988ull, 0x0123456789ABCDEFull, 0xFEDCBA9876543210ull}
#define MEMN {0xC0DEC0DE800081F1ull, 0, 0, 0} /* byte, half, word negative */
#define MEMP {0x40DEC0DE7FFF7171ull, 0, 0, 0} /* byte, half, word positive */
#define MEMPAIR {0x7FFF7171800081F1ull, 0x80000000FFFFFFFFull, 0, 0}
#define V0 0x8877665544332211ull
#define V1 0xFFEEDDCCBBAA9988ull
#define V2 0x0123456789ABCDEFull
#define V3 0xFEDCBA9876543210ull

#define LOAD(n, h, o, s, m, set_, out_)                                                    \
  {.name = n, .hex = h, .accept = 1, .len = 4, .off = o, .access = RD, .size = s, .mem = m, \
   .set = set_, .out = out_}
#define STORE(n, h, o, s, set_, out_, after)                                               \
  {.name = n, .hex = h, .accept = 1, .len = 4, .off = o, .access = WR, .size = s,           \
   .mem = MEMV, .set = set_, .out = out_, .mem_after = after}
#define REFUSE(n, h) {.name = n, .hex = h, .accept = 0}
/* An atomic read-modify-write (kind WRITE; memory MEMV before, `after` after). */
#define RMW(n, h, o, s, set_, out_, after)                                                 \
  {.name = n, .hex = h, .accept = 1, .len = 4, .off = o, .access = WR, .size = s,           \
   .mem = MEMV, .set = set_, .out = out_, .mem_after = after}
#define S(...) {__VA_ARGS__}
#define NONE {{0}}

static const struct step_case cases[] = {
    /* issue 12: acquire/release, RCpc, LSE atomics, v16..v31 */
    LOAD("ldar x0, [x1]", "c8dffc20", 0x1000, 8, MEMV, S(M(1, 0x1000)), S(X(0, V0))),
    LOAD("ldarb w0, [x1]", "08dffc20", 0x1000, 1, MEMV, S(M(1, 0x1000)), S(X(0, 0x11))),
    LOAD("ldlarh w0, [x1]", "48df7c20", 0x1000, 2, MEMV, S(M(1, 0x1000)), S(X(0, 0x2211))),
    LOAD("ldapr x0, [x1]", "f8bfc020", 0x1000, 8, MEMV, S(M(1, 0x1000)), S(X(0, V0))),
    LOAD("ldaprh w0, [x1]", "78bfc020", 0x1000, 2, MEMV, S(M(1, 0x1000)), S(X(0, 0x2211))),
    LOAD("ldapur x0, [x1]", "d9400020", 0x1000, 8, MEMV, S(M(1, 0x1000)), S(X(0, V0))),
    LOAD("ldapurb w0, [x1, #-3]", "195fd020", 0xffd, 1, MEMV, S(M(1, 0x1000)), S(X(0, 0x11))),
    LOAD("ldapursw x0, [x1, #4]", "99804020", 0x1004, 4, MEMN, S(M(1, 0x1000)),
         S(X(0, 0xFFFFFFFF800081F1ull))),
    STORE("stlr x0, [x1]", "c89ffc20", 0x1000, 8, S(M(1, 0x1000), X(0, 0x1122334455667788ull)),
          NONE, S(0x1122334455667788ull, V1)),
    STORE("stlrb w0, [x1]", "089ffc20", 0x1000, 1, S(M(1, 0x1000), X(0, 0xAB)), NONE,
          S(0x88776655443322ABull, V1)),
    STORE("stllr x0, [x1]", "c89f7c20", 0x1000, 8, S(M(1, 0x1000), X(0, 5)), NONE, S(5, V1)),
    STORE("stlur x0, [x1]", "d9000020", 0x1000, 8, S(M(1, 0x1000), X(0, 6)), NONE, S(6, V1)),
    STORE("stlurh w0, [x1, #2]", "59002020", 0x1002, 2, S(M(1, 0x1000), X(0, 0xBEEF)), NONE,
          S(0x887766554433BEEFull, V1)),
    RMW("ldadd x0, x2, [x1]", "f8200022", 0x1000, 8, S(M(1, 0x1000), X(0, 5)), S(X(2, V0)),
        S(V0 + 5, V1)),
    RMW("stadd x0, [x1]", "f820003f", 0x1000, 8, S(M(1, 0x1000), X(0, 1)), NONE, S(V0 + 1, V1)),
    RMW("ldaddal w0, w2, [x1]: 32-bit, zero-extended", "b8e00022", 0x1000, 4,
        S(M(1, 0x1000), X(0, ~0ull)), S(X(2, 0x44332211)), S(0x8877665544332210ull, V1)),
    RMW("ldsmax w0, w2, [x1]", "b8204022", 0x1000, 4, S(M(1, 0x1000), X(0, 0x50000000)),
        S(X(2, 0x44332211)), S(0x8877665550000000ull, V1)),
    RMW("ldsmax w0, w2, [x1]: negative operand", "b8204022", 0x1000, 4,
        S(M(1, 0x1000), X(0, 0x80000000)), S(X(2, 0x44332211)), S(V0, V1)),
    RMW("ldsmax x0, x2, [sp]", "f82043e2", 0x1000, 8, S(M(SP, 0x1000), X(0, 0)), S(X(2, V0)),
        S(0, V1)),
    RMW("ldsminb w0, w2, [x1]", "38205022", 0x1000, 1, S(M(1, 0x1000), X(0, 0x80)),
        S(X(2, 0x11)), S(0x8877665544332280ull, V1)),
    RMW("ldumaxh w0, w2, [x1]", "78206022", 0x1000, 2, S(M(1, 0x1000), X(0, 0x8000)),
        S(X(2, 0x2211)), S(0x8877665544338000ull, V1)),
    RMW("lduminl x0, x2, [x1]", "f8607022", 0x1000, 8, S(M(1, 0x1000), X(0, 5)), S(X(2, V0)),
        S(5, V1)),
    RMW("ldclra x0, x2, [x1]", "f8a01022", 0x1000, 8, S(M(1, 0x1000), X(0, 0xFF)), S(X(2, V0)),
        S(0x8877665544332200ull, V1)),
    RMW("ldeoral w0, w2, [x1]", "b8e02022", 0x1000, 4, S(M(1, 0x1000), X(0, 0xFFFFFFFF)),
        S(X(2, 0x44332211)), S(0x88776655BBCCDDEEull, V1)),
    RMW("ldsetb w0, w2, [x1]", "38203022", 0x1000, 1, S(M(1, 0x1000), X(0, 0xF0)),
        S(X(2, 0x11)), S(0x88776655443322F1ull, V1)),
    RMW("swp x0, x2, [x1]", "f8208022", 0x1000, 8, S(M(1, 0x1000), X(0, 0x99)), S(X(2, V0)),
        S(0x99, V1)),
    RMW("swpalh w0, w2, [x1]", "78e08022", 0x1000, 2, S(M(1, 0x1000), X(0, 0xABCD)),
        S(X(2, 0x2211)), S(0x887766554433ABCDull, V1)),
    RMW("cas x0, x2, [x1]: equal", "c8a07c22", 0x1000, 8, S(M(1, 0x1000), X(0, V0), X(2, 0x42)),
        S(X(0, V0)), S(0x42, V1)),
    RMW("cas x0, x2, [x1]: not equal, no write", "c8a07c22", 0x1000, 8,
        S(M(1, 0x1000), X(0, 7), X(2, 0x42)), S(X(0, V0)), S(V0, V1)),
    RMW("casalb w0, w2, [x1]", "08e0fc22", 0x1000, 1, S(M(1, 0x1000), X(0, 0x11), X(2, 0x77)),
        S(X(0, 0x11)), S(0x8877665544332277ull, V1)),
    RMW("caspal x0, x1, x2, x3, [x4]: equal", "4860fc82", 0x1000, 16,
        S(M(4, 0x1000), X(0, V0), X(1, V1)), S(X(0, V0), X(1, V1)), S(DEF(2), DEF(3))),
    RMW("casp x0, x1, x2, x3, [x4]: not equal", "48207c82", 0x1000, 16,
        S(M(4, 0x1000), X(0, V0), X(1, 0)), S(X(0, V0), X(1, V1)), S(V0, V1)),
    RMW("casp w0, w1, w2, w3, [x4]", "08207c82", 0x1000, 8,
        S(M(4, 0x1000), X(0, 0x44332211), X(1, 0x88776655)),
        S(X(0, 0x44332211), X(1, 0x88776655)), S(0xB3A39383B2A29282ull, V1)),
    LOAD("ldr q16, [x1]", "3dc00030", 0x1000, 16, MEMV, S(M(1, 0x1000)),
         S(X(VLO(16), V0), X(VHI(16), V1))),
    STORE("str d31, [x1]", "fd00003f", 0x1000, 8, S(M(1, 0x1000), X(VLO(31), 0x1234)), NONE,
          S(0x1234, V1)),
    LOAD("ldp q15, q16, [x1]", "ad40402f", 0x1000, 32, MEMV, S(M(1, 0x1000)),
         S(X(VLO(15), V0), X(VHI(15), V1), X(VLO(16), 0x0123456789ABCDEFull),
           X(VHI(16), 0xFEDCBA9876543210ull))),
    REFUSE("ldaxr x0, [x1]: exclusive", "c85ffc20"),
    REFUSE("ldxp x0, x2, [x1]: exclusive", "c87f0820"),
    REFUSE("stlxr w3, x0, [x1]: exclusive", "c803fc20"),
    /* unsigned immediate, every width */
    LOAD("ldr x0, [x1]", "f9400020", 0x1000, 8, MEMV, S(M(1, 0x1000)), S(X(0, V0))),
    LOAD("ldr x0, [x1, #8]", "f9400420", 0x1008, 8, MEMV, S(M(1, 0x1000)), S(X(0, V0))),
    LOAD("ldr x0, [x1, #32760] (imm12 max)", "f97ffc20", 0x80f8, 8, MEMV, S(M(1, 0x100)),
         S(X(0, V0))),
    LOAD("ldr w0, [x1, #4] zero-extends", "b9400420", 0x1004, 4, MEMV, S(M(1, 0x1000)),
         S(X(0, 0x44332211))),
    LOAD("ldr w0, [x1, #16380]", "b97ffc20", 0x40fc, 4, MEMV, S(M(1, 0x100)), S(X(0, 0x44332211))),
    LOAD("ldrb w0, [x1, #4095]", "397ffc20", 0x10ff, 1, MEMV, S(M(1, 0x100)), S(X(0, 0x11))),
    LOAD("ldrh w0, [x1, #2]", "79400420", 0x1002, 2, MEMV, S(M(1, 0x1000)), S(X(0, 0x2211))),
    LOAD("ldrh w0, [x1, #8190]", "797ffc20", 0x20fe, 2, MEMV, S(M(1, 0x100)), S(X(0, 0x2211))),
    LOAD("ldrsb w0, [x1] negative", "39c00020", 0x1000, 1, MEMN, S(M(1, 0x1000)),
         S(X(0, 0xFFFFFFF1))),
    LOAD("ldrsb w0, [x1] positive", "39c00020", 0x1000, 1, MEMP, S(M(1, 0x1000)), S(X(0, 0x71))),
    LOAD("ldrsb x0, [x1] negative", "39800020", 0x1000, 1, MEMN, S(M(1, 0x1000)),
         S(X(0, 0xFFFFFFFFFFFFFFF1ull))),
    LOAD("ldrsh w0, [x1] negative", "79c00020", 0x1000, 2, MEMN, S(M(1, 0x1000)),
         S(X(0, 0xFFFF81F1))),
    LOAD("ldrsh x0, [x1] negative", "79800020", 0x1000, 2, MEMN, S(M(1, 0x1000)),
         S(X(0, 0xFFFFFFFFFFFF81F1ull))),
    LOAD("ldrsh x0, [x1] positive", "79800020", 0x1000, 2, MEMP, S(M(1, 0x1000)), S(X(0, 0x7171))),
    LOAD("ldrsw x0, [x1] negative", "b9800020", 0x1000, 4, MEMN, S(M(1, 0x1000)),
         S(X(0, 0xFFFFFFFF800081F1ull))),
    LOAD("ldrsw x0, [x1] positive", "b9800020", 0x1000, 4, MEMP, S(M(1, 0x1000)),
         S(X(0, 0x7FFF7171))),
    LOAD("ldr x0, [sp, #16]: 31 is SP as a base", "f9400be0", 0x1010, 8, MEMV, S(M(SP, 0x1000)),
         S(X(0, V0))),
    LOAD("ldr xzr, [x1]: the value is discarded", "f940003f", 0x1000, 8, MEMV, S(M(1, 0x1000)),
         NONE),
    LOAD("ldr x1, [x1]: Rt == Rn without writeback", "f9400021", 0x1000, 8, MEMV,
         S(M(1, 0x1000)), S(X(1, V0))),
    /* unscaled immediate */
    LOAD("ldur x0, [x1, #-8]", "f85f8020", 0x1000, 8, MEMV, S(M(1, 0x1008)), S(X(0, V0))),
    LOAD("ldur w0, [x1, #1] unaligned", "b8401020", 0x1001, 4, MEMV, S(M(1, 0x1000)),
         S(X(0, 0x44332211))),
    LOAD("ldurb w0, [x1, #-256]", "38500020", 0x1000, 1, MEMV, S(M(1, 0x1100)), S(X(0, 0x11))),
    LOAD("ldursb x0, [x1, #255]", "388ff020", 0x1000, 1, MEMN, S(M(1, 0xF01)),
         S(X(0, 0xFFFFFFFFFFFFFFF1ull))),
    LOAD("ldurh w0, [x1, #-2]", "785fe020", 0x1000, 2, MEMV, S(M(1, 0x1002)), S(X(0, 0x2211))),
    LOAD("ldursh w0, [x1, #-2]", "78dfe020", 0x1000, 2, MEMN, S(M(1, 0x1002)),
         S(X(0, 0xFFFF81F1))),
    LOAD("ldursw x0, [x1, #4]", "b8804020", 0x1000, 4, MEMN, S(M(1, 0xFFC)),
         S(X(0, 0xFFFFFFFF800081F1ull))),
    /* pre- and post-index with writeback */
    LOAD("ldr x0, [x1, #16]!", "f8410c20", 0x1010, 8, MEMV, S(M(1, 0x1000)),
         S(X(0, V0), M(1, 0x1010))),
    LOAD("ldr x0, [x1, #-256]!", "f8500c20", 0x1000, 8, MEMV, S(M(1, 0x1100)),
         S(X(0, V0), M(1, 0x1000))),
    LOAD("ldr w0, [x1, #255]!", "b84ffc20", 0x1000, 4, MEMV, S(M(1, 0xF01)),
         S(X(0, 0x44332211), M(1, 0x1000))),
    LOAD("ldr x0, [x1], #8", "f8408420", 0x1000, 8, MEMV, S(M(1, 0x1000)),
         S(X(0, V0), M(1, 0x1008))),
    LOAD("ldr x0, [x1], #-256", "f8500420", 0x1000, 8, MEMV, S(M(1, 0x1000)),
         S(X(0, V0), M(1, 0xF00))),
    LOAD("ldrb w0, [x1], #255", "384ff420", 0x1000, 1, MEMV, S(M(1, 0x1000)),
         S(X(0, 0x11), M(1, 0x10FF))),
    LOAD("ldrsh x0, [x1, #2]!", "78802c20", 0x1000, 2, MEMN, S(M(1, 0xFFE)),
         S(X(0, 0xFFFFFFFFFFFF81F1ull), M(1, 0x1000))),
    LOAD("ldrsw x0, [x1], #4", "b8804420", 0x1000, 4, MEMN, S(M(1, 0x1000)),
         S(X(0, 0xFFFFFFFF800081F1ull), M(1, 0x1004))),
    LOAD("ldr x0, [sp, #-16]!: SP writeback", "f85f0fe0", 0x1000, 8, MEMV, S(M(SP, 0x1010)),
         S(X(0, V0), M(SP, 0x1000))),
    LOAD("ldr x0, [sp], #16", "f84107e0", 0x1000, 8, MEMV, S(M(SP, 0x1000)),
         S(X(0, V0), M(SP, 0x1010))),
    /* register offset with every extend */
    LOAD("ldr x0, [x1, x2]", "f8626820", 0x1010, 8, MEMV, S(M(1, 0x1000), X(2, 0x10)), S(X(0, V0))),
    LOAD("ldr x0, [x1, x2, lsl #3]", "f8627820", 0x1010, 8, MEMV, S(M(1, 0x1000), X(2, 2)),
         S(X(0, V0))),
    LOAD("ldr w0, [x1, w2, uxtw]: upper bits of x2 ignored", "b8624820", 0x1010, 4, MEMV,
         S(M(1, 0x1000), X(2, 0xFFFFFFFF00000010ull)), S(X(0, 0x44332211))),
    LOAD("ldr w0, [x1, w2, uxtw #2]", "b8625820", 0x1010, 4, MEMV,
         S(M(1, 0x1000), X(2, 0xDEADBEEF00000004ull)), S(X(0, 0x44332211))),
    LOAD("ldr x0, [x1, w2, sxtw #3] negative", "f862d820", 0x1000, 8, MEMV,
         S(M(1, 0x1010), X(2, 0xFFFFFFFEull)), S(X(0, V0))),
    LOAD("ldr x0, [x1, w2, sxtw] negative", "f862c820", 0x1000, 8, MEMV,
         S(M(1, 0x1008), X(2, 0x12345678FFFFFFF8ull)), S(X(0, V0))),
    LOAD("ldr x0, [x1, x2, sxtx]", "f862e820", 0x1000, 8, MEMV,
         S(M(1, 0x1008), X(2, 0xFFFFFFFFFFFFFFF8ull)), S(X(0, V0))),
    LOAD("ldr x0, [x1, x2, sxtx #3]", "f862f820", 0x1000, 8, MEMV,
         S(M(1, 0x1008), X(2, 0xFFFFFFFFFFFFFFFFull)), S(X(0, V0))),
    LOAD("ldrb w0, [x1, x2]", "38626820", 0x1005, 1, MEMV, S(M(1, 0x1000), X(2, 5)), S(X(0, 0x11))),
    LOAD("ldrb w0, [x1, x2, lsl #0]", "38627820", 0x1005, 1, MEMV, S(M(1, 0x1000), X(2, 5)),
         S(X(0, 0x11))),
    LOAD("ldrb w0, [x1, w2, uxtw]", "38624820", 0x1003, 1, MEMV,
         S(M(1, 0x1000), X(2, 0xFFFFFFFF00000003ull)), S(X(0, 0x11))),
    LOAD("ldrh w0, [x1, x2, lsl #1]", "78627820", 0x1006, 2, MEMV, S(M(1, 0x1000), X(2, 3)),
         S(X(0, 0x2211))),
    LOAD("ldrsh x0, [x1, w2, sxtw #1]", "78a2d820", 0x1000, 2, MEMN,
         S(M(1, 0x1002), X(2, 0xFFFFFFFFull)), S(X(0, 0xFFFFFFFFFFFF81F1ull))),
    LOAD("ldrsw x0, [x1, x2, lsl #2]", "b8a27820", 0x1004, 4, MEMN, S(M(1, 0x1000), X(2, 1)),
         S(X(0, 0xFFFFFFFF800081F1ull))),
    LOAD("ldr x0, [x1, xzr]: Rm 31 is XZR", "f87f6820", 0x1000, 8, MEMV, S(M(1, 0x1000), M(SP, 8)),
         S(X(0, V0))),
    LOAD("ldr x0, [sp, x2]", "f8626be0", 0x1008, 8, MEMV, S(M(SP, 0x1000), X(2, 8)), S(X(0, V0))),
    LOAD("ldrsb w0, [x1, x2]", "38e26820", 0x1000, 1, MEMN, S(M(1, 0x1000), X(2, 0)),
         S(X(0, 0xFFFFFFF1))),
    /* stores */
    STORE("str x0, [x1]", "f9000020", 0x1000, 8, S(M(1, 0x1000)), NONE, S(DEF(0))),
    STORE("str w0, [x1, #4]", "b9000420", 0x1004, 4, S(M(1, 0x1000)), NONE, S(DEF(0))),
    STORE("strb w0, [x1, #1]", "39000420", 0x1001, 1, S(M(1, 0x1000)), NONE, S(DEF(0))),
    STORE("strh w0, [x1, #2]", "79000420", 0x1002, 2, S(M(1, 0x1000)), NONE, S(DEF(0))),
    STORE("str xzr, [x1]", "f900003f", 0x1000, 8, S(M(1, 0x1000)), NONE, S(0)),
    STORE("str wzr, [x1, #4]", "b900043f", 0x1004, 4, S(M(1, 0x1000)), NONE, S(0)),
    STORE("strb wzr, [x1]", "3900003f", 0x1000, 1, S(M(1, 0x1000)), NONE, S(0)),
    STORE("stur x0, [x1, #-3]", "f81fd020", 0x1000, 8, S(M(1, 0x1003)), NONE, S(DEF(0))),
    STORE("sturh w0, [x1, #1]", "78001020", 0x1001, 2, S(M(1, 0x1000)), NONE, S(DEF(0))),
    STORE("str x0, [x1, #8]!", "f8008c20", 0x1008, 8, S(M(1, 0x1000)), S(M(1, 0x1008)), S(DEF(0))),
    STORE("str x0, [x1], #-8", "f81f8420", 0x1000, 8, S(M(1, 0x1000)), S(M(1, 0xFF8)), S(DEF(0))),
    STORE("str x0, [sp, #-16]!", "f81f0fe0", 0x1000, 8, S(M(SP, 0x1010)), S(M(SP, 0x1000)),
          S(DEF(0))),
    STORE("str x0, [x1, w2, sxtw #3]", "f822d820", 0x1000, 8, S(M(1, 0x1008), X(2, 0xFFFFFFFFull)),
          NONE, S(DEF(0))),
    STORE("strb w0, [x1, x2]", "38226820", 0x1007, 1, S(M(1, 0x1000), X(2, 7)), NONE, S(DEF(0))),
    STORE("strh w0, [x1, w2, uxtw #1]", "78225820", 0x1004, 2,
          S(M(1, 0x1000), X(2, 0xAAAAAAAA00000002ull)), NONE, S(DEF(0))),
    STORE("str w30, [sp, #12]", "b9000ffe", 0x100c, 4, S(M(SP, 0x1000)), NONE, S(DEF(30))),
    /* pairs */
    LOAD("ldp x0, x2, [x1]", "a9400820", 0x1000, 16, MEMV, S(M(1, 0x1000)), S(X(0, V0), X(2, V1))),
    LOAD("ldp x0, x2, [x1, #-512] (imm7 min)", "a9600820", 0x1000, 16, MEMV, S(M(1, 0x1200)),
         S(X(0, V0), X(2, V1))),
    LOAD("ldp x0, x2, [x1, #504] (imm7 max)", "a95f8820", 0x1000, 16, MEMV, S(M(1, 0xE08)),
         S(X(0, V0), X(2, V1))),
    LOAD("ldp w0, w2, [x1, #8]", "29410820", 0x1008, 8, MEMV, S(M(1, 0x1000)),
         S(X(0, 0x44332211), X(2, 0x88776655))),
    LOAD("ldp w0, w2, [x1, #-256]", "29600820", 0x1000, 8, MEMV, S(M(1, 0x1100)),
         S(X(0, 0x44332211), X(2, 0x88776655))),
    LOAD("ldp x0, x2, [x1, #16]!", "a9c10820", 0x1010, 16, MEMV, S(M(1, 0x1000)),
         S(X(0, V0), X(2, V1), M(1, 0x1010))),
    LOAD("ldp x0, x2, [x1], #16", "a8c10820", 0x1000, 16, MEMV, S(M(1, 0x1000)),
         S(X(0, V0), X(2, V1), M(1, 0x1010))),
    LOAD("ldp x29, x30, [sp], #16", "a8c17bfd", 0x1000, 16, MEMV, S(M(SP, 0x1000)),
         S(X(29, V0), X(30, V1), M(SP, 0x1010))),
    LOAD("ldpsw x0, x2, [x1]", "69400820", 0x1000, 8, MEMPAIR, S(M(1, 0x1000)),
         S(X(0, 0xFFFFFFFF800081F1ull), X(2, 0x7FFF7171))),
    LOAD("ldpsw x0, x2, [x1, #8]!", "69c10820", 0x1008, 8, MEMPAIR, S(M(1, 0x1000)),
         S(X(0, 0xFFFFFFFF800081F1ull), X(2, 0x7FFF7171), M(1, 0x1008))),
    LOAD("ldpsw x0, x2, [x1], #-8", "68ff0820", 0x1000, 8, MEMPAIR, S(M(1, 0x1000)),
         S(X(0, 0xFFFFFFFF800081F1ull), X(2, 0x7FFF7171), M(1, 0xFF8))),
    LOAD("ldnp x0, x2, [x1, #16]", "a8410820", 0x1010, 16, MEMV, S(M(1, 0x1000)),
         S(X(0, V0), X(2, V1))),
    LOAD("ldp x0, x1, [x1]: Rt2 == Rn without writeback", "a9400420", 0x1000, 16, MEMV,
         S(M(1, 0x1000)), S(X(0, V0), X(1, V1))),
    STORE("stp x29, x30, [sp, #-16]!", "a9bf7bfd", 0x1000, 16, S(M(SP, 0x1010)), S(M(SP, 0x1000)),
          S(DEF(29), DEF(30))),
    STORE("stp w0, w2, [x1]", "29000820", 0x1000, 8, S(M(1, 0x1000)), NONE,
          S((DEF(0) & 0xFFFFFFFFull) | (DEF(2) << 32))),
    STORE("stp xzr, xzr, [x1]", "a9007c3f", 0x1000, 16, S(M(1, 0x1000)), NONE, S(0, 0)),
    STORE("stp x0, x2, [x1], #-16", "a8bf0820", 0x1000, 16, S(M(1, 0x1000)), S(M(1, 0xFF0)),
          S(DEF(0), DEF(2))),
    STORE("stnp w0, w2, [x1, #-8]", "283f0820", 0x1000, 8, S(M(1, 0x1008)), NONE,
          S((DEF(0) & 0xFFFFFFFFull) | (DEF(2) << 32))),
    /* SIMD&FP registers (v0..v15) */
    LOAD("ldr q0, [x1]", "3dc00020", 0x1000, 16, MEMV, S(M(1, 0x1000)),
         S(X(VLO(0), V0), X(VHI(0), V1))),
    LOAD("ldr d0, [x1]: zeroes bits 64..127", "fd400020", 0x1000, 8, MEMV, S(M(1, 0x1000)),
         S(X(VLO(0), V0), X(VHI(0), 0))),
    LOAD("ldr s3, [x1, #4]", "bd400423", 0x1004, 4, MEMV, S(M(1, 0x1000)),
         S(X(VLO(3), 0x44332211), X(VHI(3), 0))),
    LOAD("ldr h3, [x1, #2]", "7d400423", 0x1002, 2, MEMV, S(M(1, 0x1000)),
         S(X(VLO(3), 0x2211), X(VHI(3), 0))),
    LOAD("ldr b15, [x1, #1]", "3d40042f", 0x1001, 1, MEMV, S(M(1, 0x1000)),
         S(X(VLO(15), 0x11), X(VHI(15), 0))),
    LOAD("ldr q1, [x1, #16]", "3dc00421", 0x1010, 16, MEMV, S(M(1, 0x1000)),
         S(X(VLO(1), V0), X(VHI(1), V1))),
    LOAD("ldr q0, [x1, x2, lsl #4]", "3ce27820", 0x1010, 16, MEMV, S(M(1, 0x1000), X(2, 1)),
         S(X(VLO(0), V0), X(VHI(0), V1))),
    LOAD("ldr d0, [x1, w2, sxtw #3]", "fc62d820", 0x1000, 8, MEMV,
         S(M(1, 0x1008), X(2, 0xFFFFFFFFull)), S(X(VLO(0), V0), X(VHI(0), 0))),
    LOAD("ldur q0, [x1, #-1] unaligned", "3cdff020", 0x1000, 16, MEMV, S(M(1, 0x1001)),
         S(X(VLO(0), V0), X(VHI(0), V1))),
    LOAD("ldr q0, [x1, #16]!", "3cc10c20", 0x1010, 16, MEMV, S(M(1, 0x1000)),
         S(X(VLO(0), V0), X(VHI(0), V1), M(1, 0x1010))),
    LOAD("ldp q0, q1, [x1]", "ad400420", 0x1000, 32, MEMV, S(M(1, 0x1000)),
         S(X(VLO(0), V0), X(VHI(0), V1), X(VLO(1), V2), X(VHI(1), V3))),
    LOAD("ldp d0, d1, [x1]", "6d400420", 0x1000, 16, MEMV, S(M(1, 0x1000)),
         S(X(VLO(0), V0), X(VHI(0), 0), X(VLO(1), V1), X(VHI(1), 0))),
    LOAD("ldp s0, s1, [x1, #8]", "2d410420", 0x1008, 8, MEMV, S(M(1, 0x1000)),
         S(X(VLO(0), 0x44332211), X(VHI(0), 0), X(VLO(1), 0x88776655), X(VHI(1), 0))),
    STORE("str q0, [x1]", "3d800020", 0x1000, 16, S(M(1, 0x1000)), NONE,
          S(VDEFLO(0), VDEFHI(0))),
    STORE("str d1, [x1, #8]", "fd000421", 0x1008, 8, S(M(1, 0x1000)), NONE, S(VDEFLO(1))),
    STORE("str s2, [x1, #4]", "bd000422", 0x1004, 4, S(M(1, 0x1000)), NONE, S(VDEFLO(2))),
    STORE("str h2, [x1, #2]", "7d000422", 0x1002, 2, S(M(1, 0x1000)), NONE, S(VDEFLO(2))),
    STORE("str b2, [x1, #1]", "3d000422", 0x1001, 1, S(M(1, 0x1000)), NONE, S(VDEFLO(2))),
    STORE("str q0, [x1], #-16", "3c9f0420", 0x1000, 16, S(M(1, 0x1000)), S(M(1, 0xFF0)),
          S(VDEFLO(0), VDEFHI(0))),
    STORE("stp q0, q1, [x1, #-32]!", "adbf0420", 0x1000, 32, S(M(1, 0x1020)), S(M(1, 0x1000)),
          S(VDEFLO(0), VDEFHI(0), VDEFLO(1), VDEFHI(1))),
    STORE("stp d14, d15, [sp, #-16]!", "6dbf3fee", 0x1000, 16, S(M(SP, 0x1010)),
          S(M(SP, 0x1000)), S(VDEFLO(14), VDEFLO(15))),
    /* refused */
    REFUSE("ldxr x0, [x1]", "c85f7c20"),
    REFUSE("stxr w3, x0, [x1]", "c8037c20"),
    REFUSE("ldaxr x0, [x1]", "c85ffc20"),
    REFUSE("stlxr w3, x0, [x1]", "c803fc20"),
    REFUSE("ldxp x0, x2, [x1]", "c87f0820"),
    REFUSE("stxp w3, x0, x2, [x1]", "c8230820"),
    REFUSE("prfm pldl1keep, [x1]", "f9800020"),
    REFUSE("prfm pldl1keep, [x1, x2]", "f8a26820"),
    REFUSE("prfum pldl1keep, [x1, #-1]", "f89ff020"),
    REFUSE("ldtr x0, [x1]", "f8400820"),
    REFUSE("sttr x0, [x1]", "f8000820"),
    REFUSE("ld1 {v0.16b}, [x1]", "4c407020"),
    REFUSE("st1 {v0.16b}, [x1]", "4c007020"),
    REFUSE("ld1 {v0.16b}, [x1], #16", "4cdf7020"),
    REFUSE("ldr x0, .+16 (literal)", "58000080"),
    REFUSE("ldr q0, .+16 (literal)", "9c000080"),
    REFUSE("ldraa x0, [x1]", "f8200420"),
    REFUSE("stgp x0, x1, [x2]", "69000440"),
    REFUSE("stg x0, [x1]", "d9200820"),
    REFUSE("ldg x0, [x1]", "d9600020"),
    REFUSE("nop", "d503201f"),
    REFUSE("add x0, x1, x2", "8b020020"),
    REFUSE("dc zva, x1", "d50b7421"),
    REFUSE("dc civac, x1", "d50b7e21"),
    REFUSE("ret", "d65f03c0"),
    REFUSE("b .+8", "14000002"),
    REFUSE("ldr x1, [x1, #8]!: writeback with Rt == Rn", "f8408c21"),
    REFUSE("str x1, [x1], #8: writeback with Rt == Rn", "f8008421"),
    REFUSE("ldp x1, x2, [x1, #16]!: writeback with Rt == Rn", "a9c10821"),
    REFUSE("ldp x0, x2, [x0], #16", "a8c10800"),
    REFUSE("stp x1, x2, [x1, #-16]!", "a9bf0821"),
    REFUSE("ldp x0, x2, [x2, #16]!: writeback with Rt2 == Rn", "a9c10840"),
    REFUSE("ldp x0, x0, [x1]: Rt == Rt2", "a9400020"),
    REFUSE("ldp d0, d0, [x1]: Rt == Rt2", "6d400020"),
    REFUSE("ldr x0, [x1, x2] with option 000 (unallocated)", "f8620820"),
    REFUSE("ldr x0, [x1, x2] with option 100 (unallocated)", "f8628820"),
    REFUSE("size 10 opc 11 (unallocated)", "b9c00020"),
    REFUSE("size 11 opc 10 pre-index (unallocated)", "f8800c20"),
    REFUSE("size 11 opc 11 (unallocated)", "f9c00020"),
    REFUSE("ldr (SIMD) size 01 opc 10 (unallocated)", "7dc00020"),
    REFUSE("ldp opc 11 (unallocated)", "e9400820"),
    REFUSE("ldnp with opc 01 (no LDNPSW)", "68400820"),
    REFUSE("ldp bit 25 set (not load/store)", "ab400820"),
    REFUSE("zero word (udf)", "00000000"),
};

/* The access kind of instructions not stepped (the stepped ones are checked in run_case). */
static const struct {
  const char *name;
  uint32_t word;
  int kind;
} kinds[] = {
    {"ldxr", 0xc85f7c20, RD},     {"stxr", 0xc8037c20, WR},      {"ldaxr", 0xc85ffc20, RD},
    {"stlxr", 0xc803fc20, WR},    {"ldxp", 0xc87f0820, RD},      {"stxp", 0xc8230820, WR},
    {"ldar", 0xc8dffc20, RD},     {"stlr", 0xc89ffc20, WR},      {"ldarb", 0x08dffc20, RD},
    {"stlrb", 0x089ffc20, WR},    {"ldadd", 0xf8200022, WR},     {"stadd", 0xf820003f, WR},
    {"ldaddal", 0xb8e00022, WR},  {"cas", 0xc8a07c22, WR},       {"casp", 0x48207c82, WR},
    {"swp", 0xf8208022, WR},      {"ldapr", 0xf8bfc020, RD},     {"prfm", 0xf9800020, 0},
    {"prfm reg", 0xf8a26820, 0},  {"prfum", 0xf89ff020, 0},      {"ldtr", 0xf8400820, RD},
    {"sttr", 0xf8000820, WR},     {"ld1", 0x4c407020, RD},       {"st1", 0x4c007020, WR},
    {"ld1 post", 0x4cdf7020, RD}, {"ld1 {v0.d}[1], [x0]", 0x4d408400, RD},
    {"st1 {v0.s}[1], [x0], #4", 0x0d9f9000, WR}, {"ldr literal", 0x58000080, RD}, {"ldr q literal", 0x9c000080, RD},
    {"ldraa", 0xf8200420, RD},    {"stlur", 0xd9000020, WR},     {"ldapur", 0xd9400020, RD},
    {"stgp", 0x69000440, WR},     {"stg", 0xd9200820, WR},       {"ldg", 0xd9600020, RD},
    {"nop", 0xd503201f, 0},       {"add", 0x8b020020, 0},        {"dc zva", 0xd50b7421, WR},
    {"dc civac", 0xd50b7e21, 0},  {"ret", 0xd65f03c0, 0},        {"b", 0x14000002, 0},
    {"ldr q16", 0x3dc00030, RD},  {"str d31", 0xfd00003f, WR},   {"ldr x1,[x1,#8]!", 0xf8408c21, RD},
    {"str x1,[x1],#8", 0xf8008421, WR}, {"udf", 0x00000000, 0},
    /* issue 12: LD64B is a load; encodings that are not allocated answer 0 */
    {"ld64b", 0xf83fd020, RD},    {"st64b", 0xf83f9020, WR},     {"st64bv", 0xf822b020, WR},
    {"st64bv0", 0xf822a020, WR},  {"ld64b size 10 (unallocated)", 0xb83fd020, 0},
    {"atomic o3 opc 110 (unallocated)", 0xf820e020, 0},
    {"atomic o3 opc 111 (unallocated)", 0xf820f020, 0},
    {"ldapr with Rs 0 (unallocated)", 0xf8a0c020, 0},
    {"ldr reg option 000 (unallocated)", 0xf8620820, 0},
    {"str reg option 101 (unallocated)", 0xf822a820, 0},
    {"ld1 multiple opcode 0001 (unallocated)", 0x4c401020, 0},
    {"ld1 no offset with Rm bits (unallocated)", 0x4c417020, 0},
    {"ld4 .1d (reserved)", 0x0c400c20, 0},
    {"st1r (unallocated)", 0x4d00c020, 0},
    {"ld1 {v0.h}[0] size 01 (unallocated)", 0x0d404420, 0},
    {"ldp opc 11 (unallocated)", 0xe9400820, 0},
    {"sttr simd (unallocated)", 0xfc000820, 0},
};

static void test_kinds(void) {
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    CHECK(step_aarch64_access_kind(kinds[i].word) == kinds[i].kind, "access_kind %s: %d, expected %d",
          kinds[i].name, step_aarch64_access_kind(kinds[i].word), kinds[i].kind);
}

/* Stores whose value is an address: computed at run time. */
static void test_store_base(void) {
  struct step_case c = STORE("str x1, [x1, #8]", "f9000421", 0x1008, 8, S(M(1, 0x1000)), NONE,
                             S(0));
  uint8_t bytes[16];
  int n = parse_hex(c.hex, MPSPROT_ARCH_AARCH64, bytes);
  struct mpsprot_context ctx;
  build_ctx(&ctx, MPSPROT_ARCH_AARCH64, &c, bytes, n);
  fill_pattern();
  CHECK(step_do(&ctx, NULL) == 0, "str x1, [x1, #8]");
  CHECK(step_le_get(region_alias + 0x1008, 8) == (uint64_t)(uintptr_t)region_base + 0x1000,
        "str x1, [x1, #8] stores the base");
  /* stp x1, x2, [x1] (no writeback): allowed */
  struct step_case p = STORE("stp x1, x2, [x1]", "a9000821", 0x1000, 16, S(M(1, 0x1000)), NONE,
                             S(0));
  n = parse_hex(p.hex, MPSPROT_ARCH_AARCH64, bytes);
  build_ctx(&ctx, MPSPROT_ARCH_AARCH64, &p, bytes, n);
  CHECK(step_do(&ctx, NULL) == 0, "stp x1, x2, [x1]");
  CHECK(step_le_get(region_alias + 0x1000, 8) == (uint64_t)(uintptr_t)region_base + 0x1000
            && step_le_get(region_alias + 0x1008, 8) == DEF(2),
        "stp x1, x2, [x1] stores the base and x2");
  /* A pair that starts in the region and ends past its limit. */
  struct step_case e = LOAD("ldp at the limit", "a9400820", 0, 16, MEMV, S(M(1, 0)), NONE);
  n = parse_hex(e.hex, MPSPROT_ARCH_AARCH64, bytes);
  build_ctx(&ctx, MPSPROT_ARCH_AARCH64, &e, bytes, n);
  ctx.regs[1] = (uint64_t)(uintptr_t)region_base + region_size - 8;
  ctx.address = ctx.regs[1];
  CHECK(step_can(&ctx) == 0, "a pair whose second half is past the limit is refused");
  ctx.regs[1] -= 8;
  ctx.address = ctx.regs[1] + 8; /* the fault on the second register */
  CHECK(step_can(&ctx) == 1, "a pair that faults on its second register");
}

static void fuzz(long n) {
  struct mpsprot_context ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.arch = MPSPROT_ARCH_AARCH64;
  fuzz_accepted = fuzz_stepped = 0;
  long kinds_disagree = 0;
  for (long i = 0; i < n; i++) {
    for (int k = 0; k < 16; k++)
      ctx.insn[k] = (uint8_t)rng();
    uint32_t w = (uint32_t)step_le_get(ctx.insn, 4);
    switch (i % 4) {
    case 1: /* the load/store register classes: size 111 V 0x ... */
      w = (w & ~0x3A000000u) | 0x38000000u;
      break;
    case 2: /* pairs */
      w = (w & ~0x3A000000u) | 0x28000000u;
      break;
    case 3: /* small offsets so that more accesses land in the region */
      w = (w & ~0x3A000000u) | 0x38000000u;
      w &= ~0x003FF000u;
      break;
    default:
      break;
    }
    step_le_put(ctx.insn, 4, w);
    ctx.insn_len = (i % 8 == 0) ? (int)(rng() % 17) : 4 + (int)(rng() % 13);
    random_regs(&ctx);
    fuzz_one(MPSPROT_ARCH_AARCH64, &ctx);
    /* The access kind must never call a store a read. */
    struct step_insn d;
    struct mpsprot_context c2 = ctx;
    c2.insn_len = 4;
    if (step_aarch64_decode(&c2, &d) && step_aarch64_access_kind(w) != d.access)
      kinds_disagree++;
  }
  printf("aarch64 fuzz: %ld inputs, %ld accepted, %ld stepped\n", n, fuzz_accepted, fuzz_stepped);
  CHECK(kinds_disagree == 0, "access_kind disagrees with the decoder %ld times", kinds_disagree);
  CHECK(fuzz_accepted > n / 20, "the structured fuzz reaches the decoder's accepting paths");
  CHECK(fuzz_stepped > 1000, "the fuzz steps instructions");
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  region_setup();
  run_table(MPSPROT_ARCH_AARCH64, cases, sizeof cases / sizeof cases[0]);
  test_kinds();
  test_store_base();
  fuzz(n);
  mpsprot_region_destroy(region_slot);
  return check_report("test_step_aarch64");
}
