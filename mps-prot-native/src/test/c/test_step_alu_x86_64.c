/* test_step_alu_x86_64.c -- the x86-64 ALU, compare/test, exchange, LOCK, PUSH/POP and
 * SSE/VEX move forms stepped by step_do, checked against the CPU itself: each instruction runs
 * natively on a scratch buffer from a generated stub (every general register and rflags
 * and xmm0..15 loaded from a state record, saved back after the instruction), and the same
 * instruction is stepped on a region with the same registers, flags and memory; every
 * register, the status flags (less those the SDM leaves undefined for that instruction
 * and operand) and the memory must agree.  Many random operand values per form
 * (argv[1], default 3000).  On a host that is not x86-64 it only says so. */
#pragma GCC diagnostic ignored "-Wunused-function" /* step_test.h helpers not used here */
#include "step_test.h"

#if defined(__x86_64__)
#include <sys/mman.h>

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

/* The instructions, assembled by GNU as from Intel syntax (the name is objdump's). */
static const struct {
  const char *name;
  const char *hex;
} forms[] = {
    {"add QWORD PTR [rbx+0x10],rax", "48 01 43 10"},
    {"add DWORD PTR [rbx+0x10],ecx", "01 4b 10"},
    {"add WORD PTR [rbx+0x10],dx", "66 01 53 10"},
    {"add BYTE PTR [rbx+0x10],ah", "00 63 10"},
    {"add BYTE PTR [rbx+0x10],r9b", "44 00 4b 10"},
    {"or QWORD PTR [rbx+rsi*4+0x8],r12", "4c 09 64 b3 08"},
    {"adc QWORD PTR [rbx+0x10],rdi", "48 11 7b 10"},
    {"adc BYTE PTR [rbx+0x10],cl", "10 4b 10"},
    {"sbb DWORD PTR [rbx+0x10],eax", "19 43 10"},
    {"sbb WORD PTR [rbx+0x10],r10w", "66 44 19 53 10"},
    {"and QWORD PTR [rbx+0x10],rdx", "48 21 53 10"},
    {"sub QWORD PTR [rbx+0x10],r8", "4c 29 43 10"},
    {"sub BYTE PTR [rbx+0x11],ch", "28 6b 11"},
    {"xor DWORD PTR [rbx+0x10],r11d", "44 31 5b 10"},
    {"cmp QWORD PTR [rbx+0x10],rax", "48 39 43 10"},
    {"cmp BYTE PTR [rbx+0x10],dl", "38 53 10"},
    {"add rax,QWORD PTR [rbx+0x10]", "48 03 43 10"},
    {"add ecx,DWORD PTR [rbx+0x10]", "03 4b 10"},
    {"add dh,BYTE PTR [rbx+0x10]", "02 73 10"},
    {"or r13w,WORD PTR [rbx+0x10]", "66 44 0b 6b 10"},
    {"adc r14,QWORD PTR [rbx+0x10]", "4c 13 73 10"},
    {"sbb eax,DWORD PTR [rbx+0x10]", "1b 43 10"},
    {"and rdi,QWORD PTR [rbx+rsi*8+0x10]", "48 23 7c f3 10"},
    {"sub r9d,DWORD PTR [rbx+0x10]", "44 2b 4b 10"},
    {"xor cl,BYTE PTR [rbx+0x10]", "32 4b 10"},
    {"cmp rax,QWORD PTR [rbx+0x10]", "48 3b 43 10"},
    {"cmp r15d,DWORD PTR [rbx+0x10]", "44 3b 7b 10"},
    {"cmp ch,BYTE PTR [rbx+0x10]", "3a 6b 10"},
    {"add QWORD PTR [rbx+0x10],0x7fffffff", "48 81 43 10 ff ff ff 7f"},
    {"add QWORD PTR [rbx+0x10],0xffffffffffffff80", "48 83 43 10 80"},
    {"add DWORD PTR [rbx+0x10],0x12345678", "81 43 10 78 56 34 12"},
    {"add WORD PTR [rbx+0x10],0x1234", "66 81 43 10 34 12"},
    {"add BYTE PTR [rbx+0x10],0x80", "80 43 10 80"},
    {"or QWORD PTR [rbx+0x10],0x41", "48 83 4b 10 41"},
    {"adc DWORD PTR [rbx+0x10],0x7", "83 53 10 07"},
    {"sbb QWORD PTR [rbx+0x10],0xfffffffffffffffd", "48 83 5b 10 fd"},
    {"and WORD PTR [rbx+0x10],0xfffe", "66 83 63 10 fe"},
    {"sub BYTE PTR [rbx+0x10],0x1", "80 6b 10 01"},
    {"xor QWORD PTR [rbx+0x10],0xfffffffffff00000", "48 81 73 10 00 00 f0 ff"},
    {"cmp QWORD PTR [rbx+0x10],0x0", "48 83 7b 10 00"},
    {"cmp DWORD PTR [rbx+0x10],0xffffffff", "83 7b 10 ff"},
    {"cmp BYTE PTR [rbx+0x10],0x7f", "80 7b 10 7f"},
    {"cmp WORD PTR [rbx+0x10],0x8000", "66 81 7b 10 00 80"},
    {"test QWORD PTR [rbx+0x10],rax", "48 85 43 10"},
    {"test BYTE PTR [rbx+0x10],ah", "84 63 10"},
    {"test DWORD PTR [rbx+0x10],0x80000001", "f7 43 10 01 00 00 80"},
    {"test QWORD PTR [rbx+0x10],0xfffffffffffffff0", "48 f7 43 10 f0 ff ff ff"},
    {"test BYTE PTR [rbx+0x10],0x81", "f6 43 10 81"},
    {"test WORD PTR [rbx+0x10],0x8001", "66 f7 43 10 01 80"},
    {"inc QWORD PTR [rbx+0x10]", "48 ff 43 10"},
    {"inc DWORD PTR [rbx+0x10]", "ff 43 10"},
    {"inc WORD PTR [rbx+0x10]", "66 ff 43 10"},
    {"inc BYTE PTR [rbx+0x10]", "fe 43 10"},
    {"dec QWORD PTR [rbx+0x10]", "48 ff 4b 10"},
    {"dec BYTE PTR [rbx+0x10]", "fe 4b 10"},
    {"neg QWORD PTR [rbx+0x10]", "48 f7 5b 10"},
    {"neg DWORD PTR [rbx+0x10]", "f7 5b 10"},
    {"neg BYTE PTR [rbx+0x10]", "f6 5b 10"},
    {"not QWORD PTR [rbx+0x10]", "48 f7 53 10"},
    {"not WORD PTR [rbx+0x10]", "66 f7 53 10"},
    {"shl QWORD PTR [rbx+0x10],1", "48 d1 63 10"},
    {"shl DWORD PTR [rbx+0x10],0x5", "c1 63 10 05"},
    {"shl BYTE PTR [rbx+0x10],cl", "d2 63 10"},
    {"shl WORD PTR [rbx+0x10],cl", "66 d3 63 10"},
    {"shl QWORD PTR [rbx+0x10],cl", "48 d3 63 10"},
    {"shr QWORD PTR [rbx+0x10],1", "48 d1 6b 10"},
    {"shr DWORD PTR [rbx+0x10],cl", "d3 6b 10"},
    {"shr BYTE PTR [rbx+0x10],0x3", "c0 6b 10 03"},
    {"sar QWORD PTR [rbx+0x10],1", "48 d1 7b 10"},
    {"sar QWORD PTR [rbx+0x10],cl", "48 d3 7b 10"},
    {"sar BYTE PTR [rbx+0x10],cl", "d2 7b 10"},
    {"sar WORD PTR [rbx+0x10],0x9", "66 c1 7b 10 09"},
    {"xchg QWORD PTR [rbx+0x10],rax", "48 87 43 10"},
    {"xchg DWORD PTR [rbx+0x10],r8d", "44 87 43 10"},
    {"xchg BYTE PTR [rbx+0x10],ch", "86 6b 10"},
    {"xchg WORD PTR [rbx+0x10],dx", "66 87 53 10"},
    {"lock cmpxchg QWORD PTR [rbx+0x10],rcx", "f0 48 0f b1 4b 10"},
    {"lock cmpxchg DWORD PTR [rbx+0x10],edx", "f0 0f b1 53 10"},
    {"lock cmpxchg BYTE PTR [rbx+0x10],dl", "f0 0f b0 53 10"},
    {"cmpxchg WORD PTR [rbx+0x10],r9w", "66 44 0f b1 4b 10"},
    {"lock xadd QWORD PTR [rbx+0x10],rdx", "f0 48 0f c1 53 10"},
    {"lock xadd DWORD PTR [rbx+0x10],eax", "f0 0f c1 43 10"},
    {"xadd BYTE PTR [rbx+0x10],ah", "0f c0 63 10"},
    {"lock add QWORD PTR [rbx+0x10],0x1", "f0 48 83 43 10 01"},
    {"lock or DWORD PTR [rbx+0x10],0x0", "f0 83 4b 10 00"},
    {"lock and QWORD PTR [rbx+0x10],rcx", "f0 48 21 4b 10"},
    {"lock xor BYTE PTR [rbx+0x10],dl", "f0 30 53 10"},
    {"lock sub DWORD PTR [rbx+0x10],eax", "f0 29 43 10"},
    {"lock inc QWORD PTR [rbx+0x10]", "f0 48 ff 43 10"},
    {"lock dec DWORD PTR [rbx+0x10]", "f0 ff 4b 10"},
    {"lock neg QWORD PTR [rbx+0x10]", "f0 48 f7 5b 10"},
    {"lock not BYTE PTR [rbx+0x10]", "f0 f6 53 10"},
    {"lock adc QWORD PTR [rbx+0x10],rax", "f0 48 11 43 10"},
    {"add QWORD PTR [rbx+0x13],rax", "48 01 43 13"},
    {"movss xmm1,DWORD PTR [rbx+0x10]", "f3 0f 10 4b 10"},
    {"movss DWORD PTR [rbx+0x10],xmm2", "f3 0f 11 53 10"},
    {"movsd xmm9,QWORD PTR [rbx+0x10]", "f2 44 0f 10 4b 10"},
    {"movsd QWORD PTR [rbx+rsi*8+0x10],xmm15", "f2 44 0f 11 7c f3 10"},
    {"movups xmm3,XMMWORD PTR [rbx+0x11]", "0f 10 5b 11"},
    {"movups XMMWORD PTR [rbx+0x13],xmm4", "0f 11 63 13"},
    {"movupd xmm5,XMMWORD PTR [rbx+0x10]", "66 0f 10 6b 10"},
    {"movupd XMMWORD PTR [rbx+0x10],xmm12", "66 44 0f 11 63 10"},
    {"movaps xmm6,XMMWORD PTR [rbx+0x10]", "0f 28 73 10"},
    {"movaps XMMWORD PTR [rbx+0x10],xmm7", "0f 29 7b 10"},
    {"movapd xmm8,XMMWORD PTR [rbx+0x20]", "66 44 0f 28 43 20"},
    {"movapd XMMWORD PTR [rbx+0x20],xmm10", "66 44 0f 29 53 20"},
    {"movdqu xmm11,XMMWORD PTR [rbx+0x17]", "f3 44 0f 6f 5b 17"},
    {"movdqu XMMWORD PTR [rbx+0x10],xmm13", "f3 44 0f 7f 6b 10"},
    {"movdqa xmm14,XMMWORD PTR [rbx+0x10]", "66 44 0f 6f 73 10"},
    {"movdqa XMMWORD PTR [rbx+0x10],xmm0", "66 0f 7f 43 10"},
    {"vmovss DWORD PTR [rbx+0x10],xmm2", "c5 fa 11 53 10"},
    {"vmovsd QWORD PTR [rbx+0x10],xmm9", "c5 7b 11 4b 10"},
    {"vmovsd QWORD PTR [rbx+rsi*8+0x10],xmm15", "c5 7b 11 7c f3 10"},
    {"vmovups XMMWORD PTR [rbx+0x13],xmm4", "c5 f8 11 63 13"},
    {"vmovapd XMMWORD PTR [rbx+0x20],xmm10", "c5 79 29 53 20"},
    {"vmovdqu XMMWORD PTR [rbx+0x10],xmm13", "c5 7a 7f 6b 10"},
    {"vmovdqa XMMWORD PTR [rbx+0x10],xmm0", "c5 f9 7f 43 10"},
    {"vmovq QWORD PTR [rbx+0x10],xmm3", "c5 f9 d6 5b 10"},
    {"vmovd DWORD PTR [rbx+0x10],xmm11", "c5 79 7e 5b 10"},
    /* VEX loads (they zero the register above what they load) and 256-bit moves: these
     * need the AVX state of the context (vext); run where the CPU has AVX. */
    {"vmovss xmm1,DWORD PTR [rbx+0x10]", "c5 fa 10 4b 10"},
    {"vmovss xmm2,DWORD PTR [rbx+0x10] (VEX.L 1)", "c5 fe 10 53 10"},
    {"vmovsd xmm9,QWORD PTR [rbx+0x10]", "c5 7b 10 4b 10"},
    {"vmovsd xmm15,QWORD PTR [rbx+rsi*8+0x10] (3-byte VEX)", "c4 61 7b 10 7c f3 10"},
    {"vmovups xmm3,XMMWORD PTR [rbx+0x11]", "c5 f8 10 5b 11"},
    {"vmovupd xmm12,XMMWORD PTR [rbx+0x10]", "c5 79 10 63 10"},
    {"vmovaps xmm6,XMMWORD PTR [rbx+0x10]", "c5 f8 28 73 10"},
    {"vmovdqu xmm11,XMMWORD PTR [rbx+0x17]", "c5 7a 6f 5b 17"},
    {"vmovdqa xmm14,XMMWORD PTR [rbx+0x10]", "c5 79 6f 73 10"},
    {"vmovd xmm4,DWORD PTR [rbx+0x10]", "c5 f9 6e 63 10"},
    {"vmovq xmm5,QWORD PTR [rbx+0x10] (66 W1 6E)", "c4 e1 f9 6e 6b 10"},
    {"vmovq xmm13,QWORD PTR [rbx+0x10]", "c5 7a 7e 6b 10"},
    {"vmovups ymm3,YMMWORD PTR [rbx+0x11]", "c5 fc 10 5b 11"},
    {"vmovdqu ymm10,YMMWORD PTR [rbx+0x10]", "c5 7e 6f 53 10"},
    {"vmovdqa ymm1,YMMWORD PTR [rbx+0x20]", "c5 fd 6f 4b 20"},
    {"vmovapd ymm7,YMMWORD PTR [rbx+0x20]", "c5 fd 28 7b 20"},
    {"vmovups YMMWORD PTR [rbx+0x13],ymm4", "c5 fc 11 63 13"},
    {"vmovdqu YMMWORD PTR [rbx+0x10],ymm13", "c5 7e 7f 6b 10"},
    {"vmovdqu YMMWORD PTR [rbx+rsi*8+0x8],ymm8 (3-byte VEX)", "c4 61 7e 7f 44 f3 08"},
    {"vmovdqa YMMWORD PTR [rbx+0x20],ymm0", "c5 fd 7f 43 20"},
    {"vmovaps YMMWORD PTR [rbx+0x20],ymm15", "c5 7c 29 7b 20"},
    {"vmovss DWORD PTR [rbx+0x10],xmm2 (VEX.L 1)", "c5 fe 11 53 10"},
    /* scalar SSE/VEX arithmetic with a memory source (run under the state's MXCSR) */
    {"vmulsd xmm5,xmm3,QWORD PTR [rbx+rsi*8+0x10]", "c5 e3 59 6c f3 10"},
    {"vaddsd xmm0,xmm0,QWORD PTR [rbx+0x10]", "c5 fb 58 43 10"},
    {"vaddss xmm9,xmm2,DWORD PTR [rbx+0x10]", "c5 6a 58 4b 10"},
    {"vsubsd xmm1,xmm14,QWORD PTR [rbx+0x10]", "c5 8b 5c 4b 10"},
    {"vsubss xmm3,xmm3,DWORD PTR [rbx+0x10]", "c5 e2 5c 5b 10"},
    {"vdivsd xmm12,xmm7,QWORD PTR [rbx+0x10]", "c5 43 5e 63 10"},
    {"vdivss xmm4,xmm5,DWORD PTR [rbx+0x10]", "c5 d2 5e 63 10"},
    {"vmulss xmm15,xmm15,DWORD PTR [rbx+0x10]", "c5 02 59 7b 10"},
    {"vminsd xmm2,xmm6,QWORD PTR [rbx+0x10]", "c5 cb 5d 53 10"},
    {"vmaxss xmm2,xmm6,DWORD PTR [rbx+0x10]", "c5 ca 5f 53 10"},
    {"vsqrtsd xmm8,xmm1,QWORD PTR [rbx+0x10]", "c5 73 51 43 10"},
    {"vsqrtss xmm8,xmm1,DWORD PTR [rbx+0x10]", "c5 72 51 43 10"},
    {"vcvtss2sd xmm6,xmm6,DWORD PTR [rbx+0x10]", "c5 ca 5a 73 10"},
    {"vcvtsd2ss xmm10,xmm3,QWORD PTR [rbx+0x10]", "c5 63 5a 53 10"},
    {"vcvtsi2sd xmm7,xmm7,DWORD PTR [rbx+0x10]", "c5 c3 2a 7b 10"},
    {"vcvtsi2sd xmm8,xmm8,QWORD PTR [rbx+0x10]", "c4 61 bb 2a 43 10"},
    {"vcvtsi2ss xmm1,xmm2,DWORD PTR [rbx+0x10]", "c5 ea 2a 4b 10"},
    {"vcvtsi2ss xmm11,xmm2,QWORD PTR [rbx+0x10]", "c4 61 ea 2a 5b 10"},
    {"vucomisd xmm3,QWORD PTR [rbx+0x10]", "c5 f9 2e 5b 10"},
    {"vucomiss xmm13,DWORD PTR [rbx+0x10]", "c5 78 2e 6b 10"},
    {"vcomisd xmm0,QWORD PTR [rbx+0x10]", "c5 f9 2f 43 10"},
    {"vcvttsd2si rax,QWORD PTR [rbx+0x10]", "c4 e1 fb 2c 43 10"},
    {"vcvttsd2si r9d,QWORD PTR [rbx+0x10]", "c5 7b 2c 4b 10"},
    {"vcvttss2si ecx,DWORD PTR [rbx+0x10]", "c5 fa 2c 4b 10"},
    {"vcvtsd2si r12,QWORD PTR [rbx+0x10]", "c4 61 fb 2d 63 10"},
    {"vcvtss2si rdx,DWORD PTR [rbx+0x10]", "c4 e1 fa 2d 53 10"},
    {"mulsd xmm5,QWORD PTR [rbx+0x10]", "f2 0f 59 6b 10"},
    {"addss xmm9,DWORD PTR [rbx+0x10]", "f3 44 0f 58 4b 10"},
    {"divsd xmm0,QWORD PTR [rbx+rsi*8+0x8]", "f2 0f 5e 44 f3 08"},
    {"sqrtsd xmm2,QWORD PTR [rbx+0x10]", "f2 0f 51 53 10"},
    {"cvtss2sd xmm3,DWORD PTR [rbx+0x10]", "f3 0f 5a 5b 10"},
    {"cvtsi2sd xmm4,QWORD PTR [rbx+0x10]", "f2 48 0f 2a 63 10"},
    {"cvtsi2ss xmm12,DWORD PTR [rbx+0x10]", "f3 44 0f 2a 63 10"},
    {"ucomisd xmm1,QWORD PTR [rbx+0x10]", "66 0f 2e 4b 10"},
    {"comiss xmm14,DWORD PTR [rbx+0x10]", "44 0f 2f 73 10"},
    {"cvttsd2si rsi,QWORD PTR [rbx+0x10]", "f2 48 0f 2c 73 10"},
    {"cvttss2si r10d,DWORD PTR [rbx+0x10]", "f3 44 0f 2c 53 10"},
    {"vmulsd xmm5,xmm3,QWORD PTR [rbx+0x10] (VEX.L 1: ignored)", "c5 e7 59 6b 10"},
    /* string instructions: [rdi]/[rsi] (set to the buffer), one iteration per step, stepped
     * again while the pc stays (an unfinished REP), DF random, RCX 1..8 under REP */
    {"scas al,BYTE PTR es:[rdi]", "ae"},
    {"scas eax,DWORD PTR es:[rdi]", "af"},
    {"scas ax,WORD PTR es:[rdi]", "66 af"},
    {"scas rax,QWORD PTR es:[rdi]", "48 af"},
    {"repnz scas rax,QWORD PTR es:[rdi] (HotSpot's subtype check)", "f2 48 af"},
    {"repnz scas al,BYTE PTR es:[rdi]", "f2 ae"},
    {"repz scas eax,DWORD PTR es:[rdi]", "f3 af"},
    {"lods al,BYTE PTR ds:[rsi]", "ac"},
    {"lods rax,QWORD PTR ds:[rsi]", "48 ad"},
    {"rep lods eax,DWORD PTR ds:[rsi]", "f3 ad"},
    {"stos BYTE PTR es:[rdi],al", "aa"},
    {"stos WORD PTR es:[rdi],ax", "66 ab"},
    {"rep stos QWORD PTR es:[rdi],rax", "f3 48 ab"},
    {"rep stos BYTE PTR es:[rdi],al", "f3 aa"},
};

/* State record of the stub: regs[16], rflags, the word at [rsp] after the instruction,
 * the word pushed before it (what a POP pops), rsp before the instruction. */
struct state {
  uint64_t r[16];
  uint64_t flags;
  uint64_t top_after;
  uint64_t prepush;
  uint64_t rsp_before;
  uint8_t x[16][32]; /* ymm0..15 (without AVX: xmm0..15 and 16 unused bytes each) */
  uint32_t mxcsr;    /* loaded before the instruction, saved after */
};
#define ST_XMM 160
#define ST_FLAGS 128
#define ST_TOP 136
#define ST_PREPUSH 144
#define ST_RSPB 152
#define ST_MXCSR (ST_XMM + 16 * 32)

static uint8_t *code;
#define SLOT_P 3072 /* the state pointer */
#define SLOT_S 3080 /* the caller's rsp */
#define SLOT_A 3088 /* rdi after the instruction */
#define SLOT_F 3096 /* rflags after */
#define SLOT_M 3104 /* the caller's MXCSR */

static int pos;
static void b1(int v) { code[pos++] = (uint8_t)v; }
static void b4(uint32_t v) {
  for (int i = 0; i < 4; i++)
    b1((int)(v >> (8 * i)) & 0xFF);
}
static void riprel(int slot, int extra) { b4((uint32_t)(slot - (pos + 4 + extra))); }
/* mov r64, [rdi+disp32] / mov [rdi+disp32], r64 */
static void ld(int r, int disp) {
  b1(0x48 | ((r >> 3) << 2));
  b1(0x8B);
  b1(0x80 | ((r & 7) << 3) | 7);
  b4((uint32_t)disp);
}
static void st(int r, int disp) {
  b1(0x48 | ((r >> 3) << 2));
  b1(0x89);
  b1(0x80 | ((r & 7) << 3) | 7);
  b4((uint32_t)disp);
}

static int have_avx;
static int skipped_forms;

/* movdqu xmmN, [rdi+XMM+32N] (op 6F) or the store (7F); with AVX vmovdqu of the ymm. */
static void xmm_move(int op, int x) {
  if (have_avx) {
    b1(0xC5);
    b1((x < 8 ? 0x80 : 0) | 0x78 | 0x04 | 0x02); /* R, vvvv 1111, L 1, pp F3 */
  } else {
    b1(0xF3);
    if (x >= 8)
      b1(0x44);
    b1(0x0F);
  }
  b1(op);
  b1(0x80 | ((x & 7) << 3) | 7);
  b4((uint32_t)(ST_XMM + 32 * x));
}

/* Emits: save callee-saved, state pointer and rsp; push prepush; record rsp; popfq the
 * flags; load every register (rdi last); the instruction; save rdi and flags; store
 * every register, rsp, [rsp]; restore rsp and the callee-saved; ret. */
static void gen_stub(const uint8_t *insn, int n) {
  pos = 0;
  b1(0x53); b1(0x55); b1(0x41); b1(0x54); b1(0x41); b1(0x55); b1(0x41); b1(0x56);
  b1(0x41); b1(0x57);
  b1(0x48); b1(0x89); b1(0x3D); riprel(SLOT_P, 0); /* mov [rip+P], rdi */
  b1(0x48); b1(0x89); b1(0x25); riprel(SLOT_S, 0); /* mov [rip+S], rsp */
  b1(0x0F); b1(0xAE); b1(0x1D); riprel(SLOT_M, 0); /* stmxcsr [rip+M] */
  b1(0x0F); b1(0xAE); b1(0x97); b4(ST_MXCSR);      /* ldmxcsr [rdi+MXCSR] */
  b1(0xFF); b1(0xB7); b4(ST_PREPUSH);              /* push [rdi+PREPUSH] */
  b1(0x48); b1(0x89); b1(0xA7); b4(ST_RSPB);       /* mov [rdi+RSPB], rsp */
  b1(0xFF); b1(0xB7); b4(ST_FLAGS);                /* push [rdi+FLAGS] */
  b1(0x9D);                                        /* popfq */
  for (int x = 0; x < 16; x++)                     /* (v)movdqu x/ymmN, [rdi+XMM+32N] */
    xmm_move(0x6F, x);
  for (int r = 0; r < 16; r++)
    if (r != RSP && r != RDI)
      ld(r, 8 * r);
  ld(RDI, 8 * RDI);
  memcpy(code + pos, insn, (size_t)n);
  pos += n;
  b1(0x48); b1(0x89); b1(0x3D); riprel(SLOT_A, 0); /* mov [rip+A], rdi */
  b1(0x9C);                                        /* pushfq */
  b1(0x8F); b1(0x05); riprel(SLOT_F, 0);           /* pop [rip+F] */
  b1(0xFC);                                        /* cld (the ABI's DF on return) */
  b1(0x48); b1(0x8B); b1(0x3D); riprel(SLOT_P, 0); /* mov rdi, [rip+P] */
  b1(0x0F); b1(0xAE); b1(0x9F); b4(ST_MXCSR);      /* stmxcsr [rdi+MXCSR] */
  b1(0x0F); b1(0xAE); b1(0x15); riprel(SLOT_M, 0); /* ldmxcsr [rip+M] */
  for (int r = 0; r < 16; r++)
    if (r != RSP && r != RDI)
      st(r, 8 * r);
  for (int x = 0; x < 16; x++)                     /* (v)movdqu [rdi+XMM+32N], x/ymmN */
    xmm_move(0x7F, x);
  b1(0x48); b1(0x89); b1(0xA7); b4(8 * RSP);       /* mov [rdi+32], rsp */
  b1(0x48); b1(0x8B); b1(0x04); b1(0x24);          /* mov rax, [rsp] */
  st(RAX, ST_TOP);
  b1(0x48); b1(0x8B); b1(0x05); riprel(SLOT_A, 0); /* mov rax, [rip+A] */
  st(RAX, 8 * RDI);
  b1(0x48); b1(0x8B); b1(0x05); riprel(SLOT_F, 0); /* mov rax, [rip+F] */
  st(RAX, ST_FLAGS);
  b1(0x48); b1(0x8B); b1(0x25); riprel(SLOT_S, 0); /* mov rsp, [rip+S] */
  b1(0x41); b1(0x5F); b1(0x41); b1(0x5E); b1(0x41); b1(0x5D); b1(0x41); b1(0x5C);
  b1(0x5D); b1(0x5B); b1(0xC3);
}

#define STATUS 0x8D5ull
#define AF 0x10ull
#define OF 0x800ull
#define CF 0x1ull

/* The status flags the SDM defines after this instruction with these operands. */
static uint64_t defined_flags(const struct step_insn *d, const struct state *in) {
  switch (d->alu) {
  case STEP_ALU_AND:
  case STEP_ALU_OR:
  case STEP_ALU_XOR:
  case STEP_ALU_TEST:
    return STATUS & ~AF;
  case STEP_ALU_SHL:
  case STEP_ALU_SHR:
  case STEP_ALU_SAR: {
    int bits = 8 * d->elem;
    unsigned count = (unsigned)((d->src == STEP_REG_NONE ? d->imm : in->r[RCX]) & 0xFF)
                     & (bits == 64 ? 63u : 31u);
    if (count == 0)
      return STATUS;
    uint64_t m = STATUS & ~AF;
    if (count != 1)
      m &= ~OF;
    if (count > (unsigned)bits)
      m &= ~CF;
    return m;
  }
  default:
    return STATUS;
  }
}

static uint64_t rand_value(void) {
  switch (rng() % 6) {
  case 0:
    return 0;
  case 1:
    return rng() % 4;
  case 2:
    return ~(uint64_t)0 - rng() % 4;
  case 3:
    return (uint64_t)1 << (rng() % 64);
  case 4:
    return 0x8000000000000000ull >> (rng() % 4 * 8 + 7) ^ (rng() & 0x3);
  default:
    return rng();
  }
}

static uint8_t scratch[256] __attribute__((aligned(64)));
#define MEMN 160 /* bytes of memory compared */
#define STR_OFF 0x50 /* the string forms' rdi/rsi: the buffer + 0x50 (up to 8 elements of 8
                      * bytes either way) */
static long compared;

static void run_form(int f, long iters) {
  uint8_t insn[16];
  int n = parse_hex(forms[f].hex, MPSPROT_ARCH_X86_64, insn);
  if (!have_avx && (insn[0] == 0xC4 || insn[0] == 0xC5)) {
    skipped_forms++;
    return;
  }
  gen_stub(insn, n);
  void (*stub)(struct state *) = (void (*)(struct state *))(uintptr_t)code;
  struct step_insn d0;
  struct mpsprot_context probe;
  memset(&probe, 0, sizeof probe);
  probe.arch = MPSPROT_ARCH_X86_64;
  memcpy(probe.insn, insn, (size_t)n);
  probe.insn_len = 16;
  int str = step_x86_64_decode(&probe, &d0) && d0.op == STEP_OP_STRING;
  int sreg = str ? d0.base : -1; /* rdi or rsi */
  uint8_t *emem = region_alias + 0x1000;
  uint64_t ebase = (uint64_t)(uintptr_t)region_base + 0x1000;
  for (long it = 0; it < iters; it++) {
    struct state in, nat;
    memset(&in, 0, sizeof in);
    for (int r = 0; r < 16; r++)
      in.r[r] = rand_value();
    in.r[RSI] = rng() % 4; /* the index of the SIB forms */
    in.r[RCX] = (in.r[RCX] & ~(uint64_t)0xFF) | (rng() % 80); /* shift counts */
    if (rng() % 3 == 0) /* cmpxchg: often equal */
      in.r[RAX] = 0;
    in.flags = 0x202 | (rng() & STATUS);
    if (str) {
      in.flags |= rng() % 2 ? 0x400 : 0; /* DF */
      if (d0.rep)
        in.r[RCX] = 1 + rng() % 8;
    }
    in.prepush = rng();
    /* every exception masked (else the step is refused), any rounding, FTZ, DAZ and
     * sticky flags */
    in.mxcsr = 0x1F80u | (uint32_t)(rng() & 0x3F) | (uint32_t)(rng() & 3) << 13
               | (rng() % 4 == 0 ? 0x8000u : 0) | (rng() % 4 == 0 ? 0x40u : 0);
    for (int x = 0; x < 16; x++)
      for (int k = 0; k < 32; k++)
        in.x[x][k] = have_avx || k < 16 ? (uint8_t)rng() : 0;
    uint8_t m0[MEMN];
    for (int k = 0; k < MEMN; k++)
      m0[k] = (uint8_t)rand_value();
    if (rng() % 3 == 0)
      memcpy(m0 + 0x10, &in.r[RAX], 8);
    if (str && rng() % 2) { /* SCAS: rAX's value at some element of the scan */
      int e = (int)(rng() % 8), sz = d0.elem;
      int at = STR_OFF + ((in.flags & 0x400) ? -e * sz : e * sz);
      memcpy(m0 + at, &in.r[RAX], (size_t)sz);
    }
    /* native */
    nat = in;
    nat.r[RBX] = (uint64_t)(uintptr_t)scratch;
    if (str)
      nat.r[sreg] = (uint64_t)(uintptr_t)scratch + STR_OFF;
    memcpy(scratch, m0, MEMN);
    stub(&nat);
    /* stepped */
    struct mpsprot_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.arch = MPSPROT_ARCH_X86_64;
    for (int r = 0; r < 16; r++)
      ctx.regs[r] = in.r[r];
    ctx.regs[RBX] = ebase;
    ctx.regs[16] = in.flags;
    for (int x = 0; x < 16; x++) {
      memcpy(ctx.vregs[x], in.x[x], 16);
      memcpy(ctx.vext[x], in.x[x] + 16, 16);
    }
    ctx.regs[17] = in.mxcsr;
    ctx.flags = MPSPROT_CTX_VEXT | MPSPROT_CTX_MXCSR;
    uint64_t fake_stack[4] = {0, 0, in.prepush, 0};
    ctx.regs[RSP] = (uint64_t)(uintptr_t)&fake_stack[2];
    ctx.sp = ctx.regs[RSP];
    memcpy(ctx.insn, insn, (size_t)n);
    ctx.insn_len = 16;
    ctx.pc = 0x401000;
    ctx.slot = region_slot;
    memcpy(emem, m0, MEMN);
    if (str)
      ctx.regs[sreg] = ebase + STR_OFF;
    struct step_insn d;
    /* one step per fault; a string form whose REP is unfinished faults (and steps) again */
    int rc = 0, steps = 0;
    do {
      ctx.flags &= ~MPSPROT_CTX_STEPPED;
      if (!step_x86_64_decode(&ctx, &d)) {
        CHECK(0, "%s: refused", forms[f].name);
        return;
      }
      ctx.address = d.ea;
      ctx.access = d.access;
      struct mpsprot_log_entry e;
      rc = step_do(&ctx, &e);
      steps++;
    } while (rc == 0 && str && ctx.pc == 0x401000 && steps < 64);
    if (rc != 0) {
      CHECK(0, "%s: step_do %d", forms[f].name, rc);
      return;
    }
    compared++;
    CHECK(ctx.pc == 0x401000 + (uint64_t)n, "%s: pc", forms[f].name);
    int bad = 0;
    if (str) { /* rdi/rsi: the same distance moved */
      uint64_t dn = nat.r[sreg] - ((uint64_t)(uintptr_t)scratch + STR_OFF);
      uint64_t de = ctx.regs[sreg] - (ebase + STR_OFF);
      if (dn != de) {
        CHECK(0, "%s: %s moved %lld natively, %lld stepped (%d steps)", forms[f].name,
              sreg == RDI ? "rdi" : "rsi", (long long)dn, (long long)de, steps);
        bad = 1;
      }
    }
    for (int r = 0; r < 16 && !bad; r++) {
      if (r == RBX || r == RSP || r == sreg)
        continue;
      if (ctx.regs[r] != nat.r[r]) {
        CHECK(0, "%s: reg %d: stepped %#llx, native %#llx (in %#llx, mem %#llx)", forms[f].name, r,
              (unsigned long long)ctx.regs[r], (unsigned long long)nat.r[r],
              (unsigned long long)in.r[r], (unsigned long long)step_le_get(m0 + 0x10, 8));
        bad = 1;
      }
    }
    CHECK(ctx.regs[RBX] == ebase && nat.r[RBX] == (uint64_t)(uintptr_t)scratch, "%s: rbx", forms[f].name);
    int64_t dn = (int64_t)(nat.r[RSP] - nat.rsp_before);
    int64_t de = (int64_t)(ctx.regs[RSP] - (uint64_t)(uintptr_t)&fake_stack[2]);
    CHECK(dn == de && ctx.sp == ctx.regs[RSP], "%s: rsp moved %lld natively, %lld stepped",
          forms[f].name, (long long)dn, (long long)de);
    if (d.op == STEP_OP_PUSH)
      CHECK(fake_stack[1] == nat.top_after, "%s: pushed %#llx, native %#llx", forms[f].name,
            (unsigned long long)fake_stack[1], (unsigned long long)nat.top_after);
    uint64_t mask = defined_flags(&d, &in) | ~STATUS;
    if (!bad && ((ctx.regs[16] ^ nat.flags) & mask) != 0) {
      CHECK(0, "%s: flags stepped %#llx native %#llx (defined %#llx; in flags %#llx regs rax %#llx rcx %#llx mem %#llx)",
            forms[f].name, (unsigned long long)ctx.regs[16], (unsigned long long)nat.flags,
            (unsigned long long)mask & STATUS, (unsigned long long)in.flags,
            (unsigned long long)in.r[RAX], (unsigned long long)in.r[RCX],
            (unsigned long long)step_le_get(m0 + 0x10, 8));
      bad = 1;
    }
    for (int x = 0; x < 16 && !bad; x++)
      if (memcmp(ctx.vregs[x], nat.x[x], 16) != 0
          || (have_avx && memcmp(ctx.vext[x], nat.x[x] + 16, 16) != 0)) {
        CHECK(0, "%s: ymm%d stepped %#llx:%#llx:%#llx:%#llx native %#llx:%#llx:%#llx:%#llx",
              forms[f].name, x, (unsigned long long)step_le_get(ctx.vext[x] + 8, 8),
              (unsigned long long)step_le_get(ctx.vext[x], 8),
              (unsigned long long)step_le_get(ctx.vregs[x] + 8, 8),
              (unsigned long long)step_le_get(ctx.vregs[x], 8),
              (unsigned long long)step_le_get(nat.x[x] + 24, 8),
              (unsigned long long)step_le_get(nat.x[x] + 16, 8),
              (unsigned long long)step_le_get(nat.x[x] + 8, 8),
              (unsigned long long)step_le_get(nat.x[x], 8));
        bad = 1;
      }
    if (!bad && ctx.regs[17] != nat.mxcsr) {
      CHECK(0, "%s: mxcsr stepped %#llx native %#x (in %#x)", forms[f].name,
            (unsigned long long)ctx.regs[17], nat.mxcsr, in.mxcsr);
      bad = 1;
    }
    if (!bad && memcmp(emem, scratch, MEMN) != 0) {
      CHECK(0, "%s: memory stepped %#llx native %#llx", forms[f].name,
            (unsigned long long)step_le_get(emem + 0x10, 8),
            (unsigned long long)step_le_get(scratch + 0x10, 8));
      bad = 1;
    }
    if (bad)
      return;
  }
}

/* Forms that stay refused, and the LOCK alignment rule. */
static void test_refusals(void) {
  static const char *const refused[] = {
      "f0 89 03",    /* lock mov */
      "f0 d1 23",    /* lock shl */
      "f0 39 03",    /* lock cmp */
      "f0 85 03",    /* lock test */
      "d1 03",       /* rol */
      "d3 1b",       /* rcr by cl */
      "d1 33",       /* sal /6 (undocumented) */
      "f7 23",       /* mul */
      "f6 0b 01",    /* test /1 (undocumented) */
      "66 ff 33",    /* push m16 */
      "66 8f 03",    /* pop m16 */
      "8f 0b",       /* 8f /1: XOP */
      "ff 13",       /* call [rbx] */
      "ff 23",       /* jmp [rbx] */
      "f3 01 03",    /* rep add */
      "f2 f0 01 03", /* xacquire lock add */
      "04 01",       /* add al, imm: no memory */
      "82 03 01",    /* 82: invalid in 64-bit mode */
      "48 01 c3",    /* add rbx, rax: register direct */
      "64 48 01 03", /* fs: */
      "48 0f c7 0b", /* cmpxchg8b/16b */
      "0f ab 03",    /* bts */
      "c5 f9 6e c0", /* vmovd xmm0, eax: register direct */
      "c5 fd 6e 03", /* vmovd with VEX.L 1: #UD */
      "c5 f2 10 03", /* vmovss xmm0, xmm1, [rbx]: vvvv not 1111 (#UD for the load) */
      "c4 e2 7d 18 03", /* vbroadcastss ymm0, [rbx]: map 0F38 */
      "c5 f8 12 03", /* vmovlps: a merge with vvvv */
      "62 f1 7c 58 11 03", /* EVEX vmovups [rbx], zmm0 with EVEX.b (broadcast): #UD */
      "0f 6f 03",    /* MMX movq */
      "0f 12 03",    /* movlps */
      "c5 f9 59 03", /* vmulpd: packed arithmetic */
      "c5 f8 58 03", /* vaddps */
      "0f 59 03",    /* mulps */
      "66 0f 58 03", /* addpd */
      "c5 f1 2e 03", /* vucomisd with vvvv not 1111: #UD */
      "c5 f3 2c 03", /* vcvttsd2si with vvvv not 1111: #UD */
      "0f 2a 03",    /* cvtpi2ps: MMX */
      "0f 2c 03",    /* cvttps2pi: MMX */
      "f0 f2 0f 59 03", /* lock mulsd: #UD */
      "66 f2 0f 59 03", /* 66 with F2: refused */
      "c4 e2 f1 a9 03", /* vfmadd213sd: map 0F38 */
      "62 f1 f7 08 59 03", /* EVEX vmulsd */
  };
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    struct mpsprot_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.arch = MPSPROT_ARCH_X86_64;
    ctx.insn_len = parse_hex(refused[i], MPSPROT_ARCH_X86_64, ctx.insn);
    ctx.regs[RBX] = (uint64_t)(uintptr_t)region_base + 0x1000;
    struct step_insn d;
    CHECK(step_x86_64_decode(&ctx, &d) == 0, "%s must be refused", refused[i]);
  }
  /* lock add [rbx+3], rax: a locked access that is not aligned is refused (it could
   * not be one atomic access of the alias); without lock it steps. */
  struct mpsprot_context ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.arch = MPSPROT_ARCH_X86_64;
  ctx.slot = region_slot;
  ctx.access = MPSPROT_ACCESS_WRITE;
  ctx.regs[RBX] = (uint64_t)(uintptr_t)region_base + 0x1003;
  ctx.address = ctx.regs[RBX];
  ctx.insn_len = parse_hex("f0 48 01 03", MPSPROT_ARCH_X86_64, ctx.insn);
  CHECK(step_can(&ctx) == 0, "unaligned lock add refused");
  ctx.insn_len = parse_hex("48 01 03", MPSPROT_ARCH_X86_64, ctx.insn);
  CHECK(step_can(&ctx) == 1, "unaligned add steps");
  ctx.access = MPSPROT_ACCESS_READ;
  CHECK(step_can(&ctx) == 1, "a read-modify-write faulting on its read steps");
  /* movaps with an address not 16-byte aligned raises #GP, never a page fault: refused */
  ctx.access = MPSPROT_ACCESS_READ;
  ctx.insn_len = parse_hex("0f 28 03", MPSPROT_ARCH_X86_64, ctx.insn);
  ctx.regs[RBX] = (uint64_t)(uintptr_t)region_base + 0x1008;
  ctx.address = ctx.regs[RBX];
  CHECK(step_can(&ctx) == 0, "unaligned movaps refused");
  ctx.insn_len = parse_hex("0f 10 03", MPSPROT_ARCH_X86_64, ctx.insn);
  CHECK(step_can(&ctx) == 1, "unaligned movups steps");
  /* scalar arithmetic runs under the mutator's MXCSR: refused without it, and when an
   * exception is unmasked (the instruction would trap instead of completing) */
  ctx.access = MPSPROT_ACCESS_READ;
  ctx.insn_len = parse_hex("f2 0f 59 03", MPSPROT_ARCH_X86_64, ctx.insn); /* mulsd */
  ctx.regs[RBX] = (uint64_t)(uintptr_t)region_base + 0x1008;
  ctx.address = ctx.regs[RBX];
  ctx.flags = 0;
  ctx.regs[17] = 0x1F80;
  CHECK(step_can(&ctx) == 0, "mulsd refused without the mutator's MXCSR");
  ctx.flags = MPSPROT_CTX_MXCSR;
  CHECK(step_can(&ctx) == 1, "mulsd steps with every exception masked");
  for (int bit = 7; bit <= 12; bit++) {
    ctx.regs[17] = 0x1F80 & ~(1u << bit);
    CHECK(step_can(&ctx) == 0, "mulsd refused with MXCSR bit %d (an exception) unmasked", bit);
  }
  ctx.regs[17] = 0x1F80;
  ctx.insn_len = parse_hex("c5 e3 59 03", MPSPROT_ARCH_X86_64, ctx.insn); /* vmulsd */
  CHECK(step_can(&ctx) == 0, "vmulsd refused without the upper state (it zeroes it)");
  ctx.flags = MPSPROT_CTX_MXCSR | MPSPROT_CTX_VEXT;
  CHECK(step_can(&ctx) == 1, "vmulsd steps with it");
  ctx.flags = 0;
  /* push [rbx] whose stack word would be in a region is refused */
  ctx.access = MPSPROT_ACCESS_WRITE;
  ctx.insn_len = parse_hex("ff 33", MPSPROT_ARCH_X86_64, ctx.insn);
  ctx.regs[RBX] = (uint64_t)(uintptr_t)region_base + 0x1000;
  ctx.address = ctx.regs[RBX];
  ctx.regs[RSP] = (uint64_t)(uintptr_t)region_base + 0x2000;
  CHECK(step_can(&ctx) == 0, "push with its stack word in a region refused");
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? atol(argv[1]) : 3000;
  region_setup();
  code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (code == MAP_FAILED) {
    printf("test_step_alu_x86_64: SKIPPED: no writable executable page (mmap)\n");
    return 0;
  }
  __builtin_cpu_init();
  have_avx = __builtin_cpu_supports("avx");
  size_t nforms = sizeof forms / sizeof forms[0];
  for (size_t f = 0; f < nforms; f++)
    run_form((int)f, iters);
  test_refusals();
  printf("x86-64 ALU forms: %zu (%d VEX forms skipped: no AVX), %ld native/stepped comparisons\n",
         nforms, skipped_forms, compared);
  mpsprot_region_destroy(region_slot);
  return check_report("test_step_alu_x86_64");
}
#else
int main(void) {
  printf("test_step_alu_x86_64: SKIPPED: not an x86-64 host\n");
  return 0;
}
#endif
