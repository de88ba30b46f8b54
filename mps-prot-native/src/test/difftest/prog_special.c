/* prog_special.c -- difftest corpus: what the decoders must refuse (atomics: lock prefix,
 * xchg, cmpxchg / ldxr, stxr, ldar, stlr, LSE atomics; string instructions; vector loads
 * and stores; prefetches) beside what they step (movd/movq with xmm on x86-64; ldr/str of
 * SIMD&FP registers on aarch64).  Compiled and disassembled; never run. */
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

_Atomic long counter;
_Atomic int flag;
long plain[64];
char buf_a[4096], buf_b[4096];

long atomics(long v) {
  __atomic_fetch_add(&counter, v, __ATOMIC_SEQ_CST);
  long old = __atomic_exchange_n(&counter, v, __ATOMIC_ACQ_REL);
  long expected = old;
  __atomic_compare_exchange_n(&counter, &expected, v + 1, 0, __ATOMIC_SEQ_CST,
                              __ATOMIC_SEQ_CST);
  __atomic_store_n(&flag, 1, __ATOMIC_RELEASE);
  int f = __atomic_load_n(&flag, __ATOMIC_ACQUIRE);
  __sync_fetch_and_or(&plain[3], 4);
  __sync_fetch_and_and(&plain[4], 5);
  __atomic_fetch_sub((_Atomic int *)&plain[5], 1, __ATOMIC_RELAXED);
  return old + f + __atomic_load_n(&counter, __ATOMIC_SEQ_CST);
}

void strings(char *d, const char *s, size_t n, int c) {
  memcpy(d, s, n);
  memset(d + n, c, n);
  __builtin_memcpy(buf_a, buf_b, 4096);
  __builtin_memset(buf_b, 0, 1000);
  for (int i = 0; i < 64; i++)
    __builtin_prefetch(&plain[i + 8], 1, 3);
#if defined(__x86_64__)
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
  __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0L) : "memory");
  __asm__ volatile("movsq; lodsb; stosb; scasb; cmpsb" : "+D"(d), "+S"(s) : "a"(0L) : "memory", "cc");
#endif
}

#if defined(__x86_64__)
int64_t sse(const void *p, void *q, __m128i *r) {
  __m128i a = _mm_loadl_epi64((const __m128i *)p);          /* movq xmm, m64 */
  __m128i b = _mm_cvtsi32_si128(*(const int *)q);           /* movd xmm, m32 */
  _mm_storel_epi64((__m128i *)q, _mm_add_epi32(a, b));      /* movq m64, xmm */
  *(int *)p = _mm_cvtsi128_si32(b);                         /* movd m32, xmm (maybe) */
  _mm_storeu_si128(r, _mm_loadu_si128(r + 1));              /* movdqu: refused */
  return _mm_cvtsi128_si64(a);
}
#elif defined(__aarch64__)
int64_t sse(const void *p, void *q, int32x4_t *r) {
  int32x4_t a = vld1q_s32((const int32_t *)p);              /* ld1 or ldr q */
  int32x2_t b = vld1_s32((const int32_t *)q);               /* ldr d */
  vst1q_s32((int32_t *)q, vaddq_s32(a, vcombine_s32(b, b)));
  int32x4x2_t z = vld2q_s32((const int32_t *)r);            /* ld2: refused */
  vst2q_s32((int32_t *)(r + 4), z);                         /* st2: refused */
  return vgetq_lane_s64(vreinterpretq_s64_s32(a), 0);
}
#endif

double fp(const double *a, float *b, int n) {
  double t = 0;
  for (int i = 0; i < n; i++) {
    t += a[i];
    b[i] = (float)t;
  }
  return t;
}

int main(int argc, char **argv) {
  char tmp[64];
  strings(tmp, argv[0], (size_t)argc, argc);
  long x[8] = {0};
  return (int)(atomics(argc) + sse(x, x + 2, (void *)x) + (long)fp((double *)x, (float *)x, argc));
}
