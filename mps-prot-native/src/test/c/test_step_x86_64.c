/* test_step_x86_64.c -- the x86-64 stepping decoder and emulator, table-driven on
 * hand-assembled encodings (Intel SDM vol. 2), plus a fixed-seed fuzz over random bytes.
 * Runs on every host: the decoder is plain C over struct mpsprot_context. */
#include "step_test.h"

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
#define RD MPSPROT_ACCESS_READ
#define WR MPSPROT_ACCESS_WRITE

#define MEMV {0x8877665544332211ull, 0xFFEEDDCCBBAA9988ull, 0x0123456789ABCDEFull, 0xFEDCBA9876543210ull}
#define MEMN {0xC0DEC0DE800081F1ull, 0, 0, 0} /* byte, word, dword negative */
#define MEMP {0x40DEC0DE7FFF7171ull, 0, 0, 0} /* byte, word, dword positive */
#define LO8(r, v) ((DEF(r) & ~0xFFull) | (uint64_t)(v))
#define HI8(r, v) ((DEF(r) & ~0xFF00ull) | ((uint64_t)(v) << 8))
#define LO16(r, v) ((DEF(r) & ~0xFFFFull) | (uint64_t)(v))

/* Loads: name, bytes, length, ea offset, size, memory, registers set, registers after. */
#define LOAD(n, h, l, o, s, m, set_, out_)                                                  \
  {.name = n, .hex = h, .accept = 1, .len = l, .off = o, .access = RD, .size = s, .mem = m, \
   .set = set_, .out = out_}
#define STORE(n, h, l, o, s, set_, after)                                                   \
  {.name = n, .hex = h, .accept = 1, .len = l, .off = o, .access = WR, .size = s,           \
   .mem = MEMV, .set = set_, .mem_after = after}
#define REFUSE(n, h) {.name = n, .hex = h, .accept = 0}
#define ABSOLUTE(n, h, l, ea, set_)                                                         \
  {.name = n, .hex = h, .accept = 1, .len = l, .off = (int64_t)(ea), .access = RD, .size = 8, \
   .set = set_, .decode_only = 1}
#define S(...) {__VA_ARGS__}

static const struct step_case cases[] = {
    /* 8B: MOV r, r/m -- widths and register forms */
    LOAD("mov rax,[rbx]", "48 8b 03", 3, 0x1000, 8, MEMV, S(M(RBX, 0x1000)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("mov eax,[rbx] zero-extends", "8b 03", 2, 0x1000, 4, MEMV, S(M(RBX, 0x1000)),
         S(X(RAX, 0x44332211))),
    LOAD("mov ax,[rbx] keeps bits 16..63", "66 8b 03", 3, 0x1000, 2, MEMV, S(M(RBX, 0x1000)),
         S(X(RAX, LO16(RAX, 0x2211)))),
    LOAD("66 66 mov ax,[rbx]", "66 66 8b 03", 4, 0x1000, 2, MEMV, S(M(RBX, 0x1000)),
         S(X(RAX, LO16(RAX, 0x2211)))),
    LOAD("66 REX.W: REX.W wins", "66 48 8b 03", 4, 0x1000, 8, MEMV, S(M(RBX, 0x1000)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("mov r15,[rsi]", "4c 8b 3e", 3, 0x1000, 8, MEMV, S(M(RSI, 0x1000)),
         S(X(R15, 0x8877665544332211ull))),
    LOAD("mov r15d,[rsi]", "44 8b 3e", 3, 0x1000, 4, MEMV, S(M(RSI, 0x1000)),
         S(X(R15, 0x44332211))),
    LOAD("mov r15w,[rsi]", "66 44 8b 3e", 4, 0x1000, 2, MEMV, S(M(RSI, 0x1000)),
         S(X(R15, LO16(R15, 0x2211)))),
    LOAD("mov rsp,[rbx] updates sp", "48 8b 23", 3, 0x1000, 8, MEMV, S(M(RBX, 0x1000)),
         S(X(RSP, 0x8877665544332211ull))),
    LOAD("mov rax,[rax]", "48 8b 00", 3, 0x1000, 8, MEMV, S(M(RAX, 0x1000)),
         S(X(RAX, 0x8877665544332211ull))),
    /* 8A: byte registers -- AH..BH without REX, SPL..DIL with REX */
    LOAD("mov al,[rbx]", "8a 03", 2, 0x1000, 1, MEMV, S(M(RBX, 0x1000)), S(X(RAX, LO8(RAX, 0x11)))),
    LOAD("mov ah,[rbx]", "8a 23", 2, 0x1000, 1, MEMV, S(M(RBX, 0x1000)), S(X(RAX, HI8(RAX, 0x11)))),
    LOAD("mov ch,[rsi]", "8a 2e", 2, 0x1000, 1, MEMV, S(M(RSI, 0x1000)), S(X(RCX, HI8(RCX, 0x11)))),
    LOAD("mov dh,[rsi]", "8a 36", 2, 0x1000, 1, MEMV, S(M(RSI, 0x1000)), S(X(RDX, HI8(RDX, 0x11)))),
    LOAD("mov bh,[rsi]", "8a 3e", 2, 0x1000, 1, MEMV, S(M(RSI, 0x1000)), S(X(RBX, HI8(RBX, 0x11)))),
    LOAD("mov spl,[rsi]", "40 8a 26", 3, 0x1000, 1, MEMV, S(M(RSI, 0x1000)), S(X(RSP, LO8(RSP, 0x11)))),
    LOAD("mov bpl,[rsi]", "40 8a 2e", 3, 0x1000, 1, MEMV, S(M(RSI, 0x1000)), S(X(RBP, LO8(RBP, 0x11)))),
    LOAD("mov sil,[rbx]", "40 8a 33", 3, 0x1000, 1, MEMV, S(M(RBX, 0x1000)), S(X(RSI, LO8(RSI, 0x11)))),
    LOAD("mov dil,[rsi]", "40 8a 3e", 3, 0x1000, 1, MEMV, S(M(RSI, 0x1000)), S(X(RDI, LO8(RDI, 0x11)))),
    LOAD("REX.W 8A is still a byte load: dil", "48 8a 3e", 3, 0x1000, 1, MEMV, S(M(RSI, 0x1000)),
         S(X(RDI, LO8(RDI, 0x11)))),
    LOAD("mov r8b,[rsi]", "44 8a 06", 3, 0x1000, 1, MEMV, S(M(RSI, 0x1000)), S(X(R8, LO8(R8, 0x11)))),
    LOAD("mov r12b,[rsi]", "44 8a 26", 3, 0x1000, 1, MEMV, S(M(RSI, 0x1000)), S(X(R12, LO8(R12, 0x11)))),
    /* ModRM / SIB special cases */
    LOAD("[rsp] needs SIB", "48 8b 04 24", 4, 0x1000, 8, MEMV, S(M(RSP, 0x1000)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("[rsp+8]", "48 8b 44 24 08", 5, 0x1008, 8, MEMV, S(M(RSP, 0x1000)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("[r12] needs SIB", "49 8b 04 24", 4, 0x1000, 8, MEMV, S(M(R12, 0x1000)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("[r12+0x100] mod 10", "49 8b 84 24 00 01 00 00", 8, 0x1100, 8, MEMV, S(M(R12, 0x1000)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("[rbp+8] mod 01", "48 8b 45 08", 4, 0x1008, 8, MEMV, S(M(RBP, 0x1000)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("[rbp+0] mod 01 disp 0", "48 8b 45 00", 4, 0x1000, 8, MEMV, S(M(RBP, 0x1000)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("[r13-8] mod 01", "49 8b 45 f8", 4, 0x1000, 8, MEMV, S(M(R13, 0x1008)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("[r13+0x100] mod 10", "49 8b 85 00 01 00 00", 7, 0x1100, 8, MEMV, S(M(R13, 0x1000)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("[rbx-0x100] disp32 negative", "48 8b 83 00 ff ff ff", 7, 0x1000, 8, MEMV,
         S(M(RBX, 0x1100)), S(X(RAX, 0x8877665544332211ull))),
    LOAD("[rip+0x100]", "48 8b 05 00 01 00 00", 7, 0x800 + 7 + 0x100, 8, MEMV, S(M(PC, 0x800)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("[rip-0x10]", "48 8b 05 f0 ff ff ff", 7, 0x800 + 7 - 0x10, 8, MEMV, S(M(PC, 0x800)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("REX.B rm 101 mod 00 is still rip, not r13", "49 8b 05 00 01 00 00", 7, 0x907, 8, MEMV,
         S(M(PC, 0x800), X(R13, 0x10)), S(X(RAX, 0x8877665544332211ull))),
    LOAD("[rbx+rcx*8]", "48 8b 04 cb", 4, 0x1018, 8, MEMV, S(M(RBX, 0x1000), X(RCX, 3)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("[rbx+rcx*2] unaligned", "48 8b 04 4b", 4, 0x100a, 8, MEMV, S(M(RBX, 0x1000), X(RCX, 5)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("[rbx+rcx*1-1]", "48 8b 44 0b ff", 5, 0x1000, 8, MEMV, S(M(RBX, 0x1000), X(RCX, 1)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("[rbx+r12*4] REX.X index r12", "4a 8b 04 a3", 4, 0x1010, 8, MEMV,
         S(M(RBX, 0x1000), X(R12, 4)), S(X(RAX, 0x8877665544332211ull))),
    LOAD("SIB index 100 without REX.X is none", "48 8b 04 a3", 4, 0x1000, 8, MEMV,
         S(M(RBX, 0x1000), X(RSP, 0x40)), S(X(RAX, 0x8877665544332211ull))),
    LOAD("[r13+r12*1+8] SIB base 101 mod 01 with REX.B", "4b 8b 44 25 08", 5, 0x1018, 8, MEMV,
         S(M(R13, 0x1000), X(R12, 0x10)), S(X(RAX, 0x8877665544332211ull))),
    LOAD("[r12+r13*1]", "4b 8b 04 2c", 4, 0x1020, 8, MEMV, S(M(R12, 0x1000), X(R13, 0x20)),
         S(X(RAX, 0x8877665544332211ull))),
    LOAD("[rbp+rcx*4+8] SIB base 101 mod 01", "48 8b 44 8d 08", 5, 0x1010, 8, MEMV,
         S(M(RBP, 0x1000), X(RCX, 2)), S(X(RAX, 0x8877665544332211ull))),
    LOAD("[rcx*8+0x10] SIB base 101 mod 00: no base", "48 8b 04 cd 10 00 00 00", 8, 0x1010, 8,
         MEMV, S(MDIV(RCX, 0x1000, 8), X(RBP, 0x10)), S(X(RAX, 0x8877665544332211ull))),
    LOAD("[rcx*4+8] no base", "48 8b 04 8d 08 00 00 00", 8, 0x1008, 8, MEMV,
         S(MDIV(RCX, 0x1000, 4)), S(X(RAX, 0x8877665544332211ull))),
    LOAD("[rcx*8+0x20] REX.B SIB base 101 mod 00: no base (not r13)", "49 8b 04 cd 20 00 00 00",
         8, 0x1020, 8, MEMV, S(MDIV(RCX, 0x1000, 8), X(R13, 0x10)),
         S(X(RAX, 0x8877665544332211ull))),
    ABSOLUTE("[disp32] SIB no base no index", "48 8b 04 25 00 10 00 00", 8, 0x1000, S(X(RBP, 1))),
    ABSOLUTE("[disp32] negative sign-extends", "48 8b 04 25 f0 ff ff ff", 8,
             0xFFFFFFFFFFFFFFF0ull, S(X(RBP, 1))),
    ABSOLUTE("[disp32] with REX.B: no base (not r13)", "49 8b 04 25 00 20 00 00", 8, 0x2000,
             S(X(R13, 0x10))),
    /* 89 / 88 stores */
    STORE("mov [rbx],rax", "48 89 03", 3, 0x1000, 8, S(M(RBX, 0x1000)), S(DEF(RAX))),
    STORE("mov [rbx],eax", "89 03", 2, 0x1000, 4, S(M(RBX, 0x1000)), S(DEF(RAX))),
    STORE("mov [rbx],ax", "66 89 03", 3, 0x1000, 2, S(M(RBX, 0x1000)), S(DEF(RAX))),
    STORE("mov [rbx+1],eax unaligned", "89 43 01", 3, 0x1001, 4, S(M(RBX, 0x1000)), S(DEF(RAX))),
    STORE("mov [rbx],rsp", "48 89 23", 3, 0x1000, 8, S(M(RBX, 0x1000)), S(DEF(RSP))),
    STORE("mov [rsp],r15", "4c 89 3c 24", 4, 0x1000, 8, S(M(RSP, 0x1000)), S(DEF(R15))),
    STORE("mov [r12+rax*8],r9", "4d 89 0c c4", 4, 0x1010, 8, S(M(R12, 0x1000), X(RAX, 2)),
          S(DEF(R9))),
    STORE("mov [rip+0x100],rax", "48 89 05 00 01 00 00", 7, 0x907, 8, S(M(PC, 0x800)), S(DEF(RAX))),
    STORE("mov [rbx],al", "88 03", 2, 0x1000, 1, S(M(RBX, 0x1000)), S(DEF(RAX))),
    STORE("mov [rbx],ah", "88 23", 2, 0x1000, 1, S(M(RBX, 0x1000)), S(DEF(RAX) >> 8)),
    STORE("mov [rsi],bh", "88 3e", 2, 0x1000, 1, S(M(RSI, 0x1000)), S(DEF(RBX) >> 8)),
    STORE("mov [rsi],spl", "40 88 26", 3, 0x1000, 1, S(M(RSI, 0x1000)), S(DEF(RSP))),
    STORE("mov [rsi],dil", "40 88 3e", 3, 0x1000, 1, S(M(RSI, 0x1000)), S(DEF(RDI))),
    STORE("mov [rsi],r15b", "44 88 3e", 3, 0x1000, 1, S(M(RSI, 0x1000)), S(DEF(R15))),
    /* C6 / C7 immediates */
    STORE("mov byte [rbx],0xab", "c6 03 ab", 3, 0x1000, 1, S(M(RBX, 0x1000)), S(0xab)),
    STORE("mov byte [rbx+8],0xab: imm after disp", "c6 43 08 ab", 4, 0x1008, 1, S(M(RBX, 0x1000)),
          S(0xab)),
    STORE("mov word [rbx],0x1234", "66 c7 03 34 12", 5, 0x1000, 2, S(M(RBX, 0x1000)), S(0x1234)),
    STORE("mov dword [rbx],0x12345678", "c7 03 78 56 34 12", 6, 0x1000, 4, S(M(RBX, 0x1000)),
          S(0x12345678)),
    STORE("mov dword [rsp+8],imm32", "c7 44 24 08 78 56 34 12", 8, 0x1008, 4, S(M(RSP, 0x1000)),
          S(0x12345678)),
    STORE("mov qword [rbx],-16 sign-extends", "48 c7 03 f0 ff ff ff", 7, 0x1000, 8,
          S(M(RBX, 0x1000)), S(0xFFFFFFFFFFFFFFF0ull)),
    STORE("mov qword [rbx],0x80000000 sign-extends", "48 c7 03 00 00 00 80", 7, 0x1000, 8,
          S(M(RBX, 0x1000)), S(0xFFFFFFFF80000000ull)),
    STORE("mov qword [rbx],0x7fffffff", "48 c7 03 ff ff ff 7f", 7, 0x1000, 8, S(M(RBX, 0x1000)),
          S(0x7FFFFFFFull)),
    STORE("mov byte [rip+0x100],imm: rip after the imm", "c6 05 00 01 00 00 ab", 7, 0x907, 1,
          S(M(PC, 0x800)), S(0xab)),
    STORE("mov word [rip+0x100],imm16", "66 c7 05 00 01 00 00 34 12", 9, 0x909, 2, S(M(PC, 0x800)),
          S(0x1234)),
    STORE("mov dword [rip+0x100],imm32", "c7 05 00 01 00 00 78 56 34 12", 10, 0x90a, 4,
          S(M(PC, 0x800)), S(0x12345678)),
    STORE("mov qword [rip+0x100],-1", "48 c7 05 00 01 00 00 ff ff ff ff", 11, 0x90b, 8,
          S(M(PC, 0x800)), S(0xFFFFFFFFFFFFFFFFull)),
    STORE("15 bytes: 66 66 66 REX.W C7 [rsp+disp32] imm32",
          "66 66 66 48 c7 84 24 00 01 00 00 f0 ff ff ff", 15, 0x1100, 8, S(M(RSP, 0x1000)),
          S(0xFFFFFFFFFFFFFFF0ull)),
    STORE("66 66 mov [rbx],ax", "66 66 89 03", 4, 0x1000, 2, S(M(RBX, 0x1000)), S(DEF(RAX))),
    /* MOVZX / MOVSX / MOVSXD */
    LOAD("movzx eax,byte [rbx]", "0f b6 03", 3, 0x1000, 1, MEMN, S(M(RBX, 0x1000)), S(X(RAX, 0xF1))),
    LOAD("movzx rax,byte [rbx]", "48 0f b6 03", 4, 0x1000, 1, MEMN, S(M(RBX, 0x1000)),
         S(X(RAX, 0xF1))),
    LOAD("movzx ax,byte [rbx] keeps bits 16..63", "66 0f b6 03", 4, 0x1000, 1, MEMN,
         S(M(RBX, 0x1000)), S(X(RAX, LO16(RAX, 0xF1)))),
    LOAD("movzx r15d,byte [rbx]", "44 0f b6 3b", 4, 0x1000, 1, MEMN, S(M(RBX, 0x1000)),
         S(X(R15, 0xF1))),
    LOAD("movzx eax,word [rbx]", "0f b7 03", 3, 0x1000, 2, MEMN, S(M(RBX, 0x1000)),
         S(X(RAX, 0x81F1))),
    LOAD("movzx rax,word [rbx]", "48 0f b7 03", 4, 0x1000, 2, MEMN, S(M(RBX, 0x1000)),
         S(X(RAX, 0x81F1))),
    LOAD("movzx ax,word [rbx]", "66 0f b7 03", 4, 0x1000, 2, MEMN, S(M(RBX, 0x1000)),
         S(X(RAX, LO16(RAX, 0x81F1)))),
    LOAD("movsx eax,byte [rbx] negative", "0f be 03", 3, 0x1000, 1, MEMN, S(M(RBX, 0x1000)),
         S(X(RAX, 0xFFFFFFF1))),
    LOAD("movsx rax,byte [rbx] negative", "48 0f be 03", 4, 0x1000, 1, MEMN, S(M(RBX, 0x1000)),
         S(X(RAX, 0xFFFFFFFFFFFFFFF1ull))),
    LOAD("movsx ax,byte [rbx] negative", "66 0f be 03", 4, 0x1000, 1, MEMN, S(M(RBX, 0x1000)),
         S(X(RAX, LO16(RAX, 0xFFF1)))),
    LOAD("movsx eax,byte [rbx] positive", "0f be 03", 3, 0x1000, 1, MEMP, S(M(RBX, 0x1000)),
         S(X(RAX, 0x71))),
    LOAD("movsx rax,byte [rbx] positive", "48 0f be 03", 4, 0x1000, 1, MEMP, S(M(RBX, 0x1000)),
         S(X(RAX, 0x71))),
    LOAD("movsx eax,word [rbx] negative", "0f bf 03", 3, 0x1000, 2, MEMN, S(M(RBX, 0x1000)),
         S(X(RAX, 0xFFFF81F1))),
    LOAD("movsx rax,word [rbx] negative", "48 0f bf 03", 4, 0x1000, 2, MEMN, S(M(RBX, 0x1000)),
         S(X(RAX, 0xFFFFFFFFFFFF81F1ull))),
    LOAD("movsx ax,word [rbx]", "66 0f bf 03", 4, 0x1000, 2, MEMN, S(M(RBX, 0x1000)),
         S(X(RAX, LO16(RAX, 0x81F1)))),
    LOAD("movsx rax,word [rbx] positive", "48 0f bf 03", 4, 0x1000, 2, MEMP, S(M(RBX, 0x1000)),
         S(X(RAX, 0x7171))),
    LOAD("movsx r9,byte [r10+r11*2]", "4f 0f be 0c 5a", 5, 0x1004, 1, MEMN,
         S(M(R10, 0x1000), X(R11, 2)), S(X(R9, 0xFFFFFFFFFFFFFFF1ull))),
    LOAD("movsxd rax,[rbx] negative", "48 63 03", 3, 0x1000, 4, MEMN, S(M(RBX, 0x1000)),
         S(X(RAX, 0xFFFFFFFF800081F1ull))),
    LOAD("movsxd rax,[rbx] positive", "48 63 03", 3, 0x1000, 4, MEMP, S(M(RBX, 0x1000)),
         S(X(RAX, 0x7FFF7171))),
    LOAD("movsxd r15,[rsp]", "4c 63 3c 24", 4, 0x1000, 4, MEMN, S(M(RSP, 0x1000)),
         S(X(R15, 0xFFFFFFFF800081F1ull))),
    LOAD("66 REX.W movsxd: REX.W wins", "66 48 63 03", 4, 0x1000, 4, MEMN, S(M(RBX, 0x1000)),
         S(X(RAX, 0xFFFFFFFF800081F1ull))),
    LOAD("63 without REX.W: a 32-bit move", "63 03", 2, 0x1000, 4, MEMN, S(M(RBX, 0x1000)),
         S(X(RAX, 0x800081F1))),
    /* MOVD / MOVQ */
    LOAD("movd xmm0,[rbx]", "66 0f 6e 03", 4, 0x1000, 4, MEMV, S(M(RBX, 0x1000)),
         S(X(VLO(0), 0x44332211), X(VHI(0), 0))),
    LOAD("movq xmm0,[rbx] (66 REX.W 0F 6E)", "66 48 0f 6e 03", 5, 0x1000, 8, MEMV,
         S(M(RBX, 0x1000)), S(X(VLO(0), 0x8877665544332211ull), X(VHI(0), 0))),
    LOAD("movd xmm15,[rbx]", "66 44 0f 6e 3b", 5, 0x1000, 4, MEMV, S(M(RBX, 0x1000)),
         S(X(VLO(15), 0x44332211), X(VHI(15), 0))),
    LOAD("movq xmm0,[rbx] (F3 0F 7E)", "f3 0f 7e 03", 4, 0x1000, 8, MEMV, S(M(RBX, 0x1000)),
         S(X(VLO(0), 0x8877665544332211ull), X(VHI(0), 0))),
    LOAD("movq xmm15,[rbx] (F3 REX.R 0F 7E)", "f3 44 0f 7e 3b", 5, 0x1000, 8, MEMV,
         S(M(RBX, 0x1000)), S(X(VLO(15), 0x8877665544332211ull), X(VHI(15), 0))),
    LOAD("movq xmm0,[rbx] (F3 REX.W 0F 7E: W ignored)", "f3 48 0f 7e 03", 5, 0x1000, 8, MEMV,
         S(M(RBX, 0x1000)), S(X(VLO(0), 0x8877665544332211ull), X(VHI(0), 0))),
    LOAD("movq xmm3,[rip+0x100]", "f3 0f 7e 1d 00 01 00 00", 8, 0x908, 8, MEMV, S(M(PC, 0x800)),
         S(X(VLO(3), 0x8877665544332211ull), X(VHI(3), 0))),
    STORE("movd [rbx],xmm0", "66 0f 7e 03", 4, 0x1000, 4, S(M(RBX, 0x1000)), S(VDEFLO(0))),
    STORE("movq [rbx],xmm0 (66 REX.W 0F 7E)", "66 48 0f 7e 03", 5, 0x1000, 8, S(M(RBX, 0x1000)),
          S(VDEFLO(0))),
    STORE("movq [rbx],xmm15 (66 REX.WR 0F 7E)", "66 4c 0f 7e 3b", 5, 0x1000, 8, S(M(RBX, 0x1000)),
          S(VDEFLO(15))),
    STORE("movq [rbx],xmm0 (66 0F D6)", "66 0f d6 03", 4, 0x1000, 8, S(M(RBX, 0x1000)),
          S(VDEFLO(0))),
    STORE("movq [r12],xmm7", "66 41 0f d6 3c 24", 6, 0x1000, 8, S(M(R12, 0x1000)), S(VDEFLO(7))),
    STORE("movq [rip+0x100],xmm0", "66 0f d6 05 00 01 00 00", 8, 0x908, 8, S(M(PC, 0x800)),
          S(VDEFLO(0))),
    /* Refused: register-direct, other opcodes, prefixes we do not emulate */
    REFUSE("mov rax,rbx (mod 11)", "48 8b c3"),
    REFUSE("mov al,ah (mod 11)", "88 e0"),
    REFUSE("mov al,imm (C6 mod 11)", "c6 c0 01"),
    REFUSE("mov eax,imm (C7 mod 11)", "c7 c0 01 00 00 00"),
    REFUSE("movzx eax,al (mod 11)", "0f b6 c0"),
    REFUSE("movsxd rax,eax (mod 11)", "48 63 c0"),
    REFUSE("movd xmm0,eax (mod 11)", "66 0f 6e c0"),
    REFUSE("movq xmm0,xmm1 (mod 11)", "f3 0f 7e c1"),
    REFUSE("C6 /1", "c6 0b 01"),
    REFUSE("C7 /1", "c7 0b 01 00 00 00"),
    REFUSE("xabort", "c6 f8 01"),
    REFUSE("xbegin", "c7 f8 00 00 00 00"),
    REFUSE("66 movsxd (r16)", "66 63 03"),
    REFUSE("fs: mov", "64 48 8b 03"),
    REFUSE("gs: mov", "65 48 8b 03"),
    REFUSE("cs: mov", "2e 8b 03"),
    REFUSE("ds: mov", "3e 8b 03"),
    REFUSE("es: mov", "26 8b 03"),
    REFUSE("ss: mov", "36 8b 03"),
    REFUSE("REX then fs:", "48 64 8b 03"),
    REFUSE("lock mov", "f0 89 03"),
    REFUSE("xrelease mov", "f3 89 03"),
    REFUSE("xacquire/rep mov", "f2 89 03"),
    REFUSE("xrelease mov imm", "f3 c7 03 01 00 00 00"),
    REFUSE("rep movzx", "f3 0f b6 03"),
    REFUSE("addr32", "67 8b 03"),
    REFUSE("addr32 REX.W", "67 48 8b 03"),
    REFUSE("REX before 66", "48 66 8b 03"),
    REFUSE("two REX", "48 48 8b 03"),
    REFUSE("REX before F3", "41 f3 0f 7e 03"),
    REFUSE("16 bytes", "66 66 66 66 48 c7 84 24 00 01 00 00 f0 ff ff ff"),
    REFUSE("MMX movd mm0,[rbx]", "0f 6e 03"),
    REFUSE("MMX movd [rbx],mm0", "0f 7e 03"),
    REFUSE("MMX movq mm0,[rbx]", "0f 6f 03"),
    REFUSE("F2 0F 7E", "f2 0f 7e 03"),
    REFUSE("F3 66 0F 7E", "f3 66 0f 7e 03"),
    REFUSE("66 F3 0F 7E", "66 f3 0f 7e 03"),
    REFUSE("F3 0F D6 (movq2dq)", "f3 0f d6 03"),
    REFUSE("F3 0F 6E", "f3 0f 6e 03"),
    REFUSE("movq mm0 (MMX)", "0f 6f 03"),
    REFUSE("movsb", "a4"),
    REFUSE("movsd (string)", "a5"),
    REFUSE("movsq", "48 a5"),
    REFUSE("rep movsb", "f3 a4"),
    REFUSE("rep movsq", "f3 48 a5"),
    REFUSE("repnz stosb (F2 before STOS: undocumented)", "f2 aa"),
    REFUSE("repnz lodsq (F2 before LODS: undocumented)", "f2 48 ad"),
    REFUSE("lock scasb (#UD)", "f0 ae"),
    REFUSE("fs: lodsb", "64 ac"),
    REFUSE("addr32 scasq", "67 48 af"),
    REFUSE("cmpsb", "a6"),
    REFUSE("repz cmpsq", "f3 48 a7"),
    REFUSE("lea", "48 8d 03"),
    REFUSE("nop [rax]", "0f 1f 00"),
    REFUSE("fld", "d9 03"),
    REFUSE("movabs eax,[moffs]", "a1 00 10 00 00 00 00 00 00"),
    REFUSE("movabs [moffs],eax", "a3 00 10 00 00 00 00 00 00"),
    REFUSE("mov [rbx],es", "8c 03"),
    REFUSE("mov es,[rbx]", "8e 03"),
    REFUSE("EVEX vmovd with a mask (#UD)", "62 f1 7d 09 6e 03"),
    REFUSE("XOP", "8f e9 78 e1 03"),
    REFUSE("ud2", "0f 0b"),
    REFUSE("ret", "c3"),
    REFUSE("lock mov", "f0 89 03"),
    REFUSE("rol [rbx]", "d1 03"),
    REFUSE("mul [rbx]", "f7 23"),
    REFUSE("call [rbx]", "ff 13"),
    REFUSE("REX alone then int3", "48"),
};

/* Accesses that cross the region's edges, a destroyed region, NULL entry. */
static void test_edges(void) {
  struct step_case c = LOAD("edge", "48 8b 03", 3, 0, 8, MEMV, S(M(RBX, 0)), S(X(RAX, 0)));
  uint8_t bytes[16];
  int n = parse_hex(c.hex, MPSPROT_ARCH_X86_64, bytes);
  struct mpsprot_context ctx;
  uint64_t b = (uint64_t)(uintptr_t)region_base, lim = b + region_size;

  build_ctx(&ctx, MPSPROT_ARCH_X86_64, &c, bytes, n);
  ctx.regs[RBX] = lim - 4;
  ctx.address = lim - 4;
  CHECK(step_can(&ctx) == 0, "an access that runs past the limit is refused");
  ctx.regs[RBX] = lim - 8;
  ctx.address = lim - 8;
  CHECK(step_can(&ctx) == 1, "the last 8 bytes of the region are accepted");
  ctx.regs[RBX] = b - 4;
  ctx.address = b;
  CHECK(step_can(&ctx) == 0, "an access that starts below the base is refused");
  ctx.regs[RBX] = 0xFFFFFFFFFFFFFFFCull;
  ctx.address = 0xFFFFFFFFFFFFFFFCull;
  CHECK(step_can(&ctx) == 0, "an access that wraps is refused");

  /* A page-crossing access faults at the first byte of the second page. */
  fill_pattern();
  ctx.regs[RBX] = b + (uint64_t)test_page - 4;
  ctx.address = b + (uint64_t)test_page;
  CHECK(step_can(&ctx) == 1, "a page-crossing access faulting on its second page");
  uint64_t want = step_le_get(region_alias + test_page - 4, 8);
  CHECK(step_do(&ctx, NULL) == 0, "step with a NULL entry");
  CHECK(ctx.regs[RAX] == want, "page-crossing load %#llx", (unsigned long long)ctx.regs[RAX]);

  /* One step per fault: a stepped context is refused (EALREADY), nothing changes. */
  struct mpsprot_context once = ctx;
  CHECK(step_can(&ctx) == 0, "a stepped context cannot be stepped again");
  CHECK(step_do(&ctx, NULL) == EALREADY, "a second step is refused with EALREADY");
  CHECK(memcmp(&ctx, &once, sizeof ctx) == 0, "the refused step changed nothing (pc %#llx)",
        (unsigned long long)ctx.pc);
  CHECK(mpsprot_context_can_step((int64_t)(uintptr_t)&ctx) == 0
            && mpsprot_context_step((int64_t)(uintptr_t)&ctx) == EALREADY,
        "the same through the API");

  /* Another region's address, then a destroyed region. */
  int64_t out[4];
  CHECK(mpsprot_region_create(test_page, out) == 0, "second region");
  build_ctx(&ctx, MPSPROT_ARCH_X86_64, &c, bytes, n);
  ctx.regs[RBX] = (uint64_t)out[1];
  ctx.address = (uint64_t)out[1];
  ctx.slot = region_slot;
  CHECK(step_can(&ctx) == 0, "the fault's region is not ctx->slot");
  ctx.slot = (int)out[0];
  CHECK(step_can(&ctx) == 1, "the second region by its own slot");
  CHECK(mpsprot_region_destroy((int)out[0]) == 0, "destroy the second region");
  CHECK(step_can(&ctx) == 0, "a destroyed region is refused");
  CHECK(step_do(&ctx, NULL) == ENOSYS, "step_do on a destroyed region");
  ctx.slot = -1;
  CHECK(step_can(&ctx) == 0, "slot -1");
  ctx.arch = 99;
  CHECK(step_can(&ctx) == 0, "unknown arch");
}

static const uint8_t prefixes[] = {0x66, 0x66, 0xF2, 0xF3, 0xF3, 0xF0, 0x2E, 0x3E, 0x26,
                                   0x36, 0x64, 0x65, 0x67, 0x48, 0x4C, 0x41, 0x40, 0x4F};
static const uint8_t opcodes[] = {0x88, 0x89, 0x8A, 0x8B, 0xC6, 0xC7, 0x63, 0x0F, 0x01, 0x03,
                                  0x28, 0x3A, 0x80, 0x81, 0x83, 0xC0, 0xD1, 0xD3, 0xF6, 0xF7,
                                  0xFE, 0xFF, 0x8F, 0x84, 0x87};
static const uint8_t opcodes0f[] = {0xB6, 0xB7, 0xBE, 0xBF, 0x6E, 0x7E, 0xD6, 0x6F, 0xB0, 0xB1,
                                    0xC0, 0xC1};

static void fuzz(long n) {
  struct mpsprot_context ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.arch = MPSPROT_ARCH_X86_64;
  fuzz_accepted = fuzz_stepped = 0;
  for (long i = 0; i < n; i++) {
    for (int k = 0; k < 16; k++)
      ctx.insn[k] = (uint8_t)rng();
    if (i & 1) { /* structured: prefixes, one of our opcodes, random ModRM and the rest */
      int k = 0, np = (int)(rng() % 4);
      for (int p = 0; p < np; p++)
        ctx.insn[k++] = prefixes[rng() % sizeof prefixes];
      uint8_t op = opcodes[rng() % sizeof opcodes];
      ctx.insn[k++] = op;
      if (op == 0x0F)
        ctx.insn[k++] = opcodes0f[rng() % sizeof opcodes0f];
      if (rng() % 2)
        ctx.insn[k] &= 0x47; /* mod 01 rm 100/101 or mod 00: SIB and disp forms */
    }
    ctx.insn_len = (int)(rng() % 17);
    random_regs(&ctx);
    fuzz_one(MPSPROT_ARCH_X86_64, &ctx);
  }
  printf("x86-64 fuzz: %ld inputs, %ld accepted, %ld stepped\n", n, fuzz_accepted, fuzz_stepped);
  CHECK(fuzz_accepted > n / 20, "the structured fuzz reaches the decoder's accepting paths");
  CHECK(fuzz_stepped > 1000, "the fuzz steps instructions");
}

/* VEX loads and 256-bit moves decode, and step only where the context carries the upper
 * vector state (MPSPROT_CTX_VEXT); their semantics are checked against the CPU in
 * test_step_alu_x86_64 and through a real signal frame in test_step_vex_x86_64. */
static void test_vex_needs_upper_state(void) {
  static const char *const needs[] = {
      "c5 fc 10 03",    /* vmovups ymm0, [rbx] */
      "c5 f9 6e 03",    /* vmovd xmm0, [rbx] */
      "c5 fa 7e 03",    /* vmovq xmm0, [rbx] */
      "c4 e1 f9 6e 03", /* vmovq xmm0, [rbx] (66 W1 6E) */
      "c5 fa 10 03",    /* vmovss xmm0, [rbx] */
      "c5 fe 7f 03",    /* vmovdqu [rbx], ymm0 */
  };
  for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++) {
    struct mpsprot_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.arch = MPSPROT_ARCH_X86_64;
    ctx.insn_len = parse_hex(needs[i], MPSPROT_ARCH_X86_64, ctx.insn);
    ctx.regs[3] = (uint64_t)(uintptr_t)region_base + 0x1000;
    ctx.address = ctx.regs[3];
    ctx.slot = region_slot;
    ctx.access = MPSPROT_ACCESS_ALL;
    struct step_insn d;
    CHECK(step_x86_64_decode(&ctx, &d) == 1 && d.upper, "%s decodes, needing vext", needs[i]);
    CHECK(step_can(&ctx) == 0, "%s refused without MPSPROT_CTX_VEXT", needs[i]);
    ctx.flags = MPSPROT_CTX_VEXT;
    CHECK(step_can(&ctx) == 1, "%s steps with MPSPROT_CTX_VEXT", needs[i]);
  }
  /* a 128-bit VEX store needs only the XMM register */
  struct mpsprot_context ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.arch = MPSPROT_ARCH_X86_64;
  ctx.insn_len = parse_hex("c5 f8 11 03", MPSPROT_ARCH_X86_64, ctx.insn);
  ctx.regs[3] = (uint64_t)(uintptr_t)region_base + 0x1000;
  ctx.address = ctx.regs[3];
  ctx.slot = region_slot;
  ctx.access = MPSPROT_ACCESS_WRITE;
  CHECK(step_can(&ctx) == 1, "vmovups [rbx], xmm0 steps without vext");
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 2000000;
  region_setup();
  run_table(MPSPROT_ARCH_X86_64, cases, sizeof cases / sizeof cases[0]);
  test_edges();
  test_vex_needs_upper_state();
  fuzz(n);
  mpsprot_region_destroy(region_slot);
  return check_report("test_step_x86_64");
}
