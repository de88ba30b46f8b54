/* prog_arrays.c -- difftest corpus: loops over arrays of every width and signedness.
 * Compiled at several optimisation levels and disassembled; never run. */
#include <stddef.h>
#include <stdint.h>

#define N 1000
int8_t s8[N];
uint8_t u8[N];
int16_t s16[N];
uint16_t u16[N];
int32_t s32[N];
uint32_t u32[N];
int64_t s64[N];
uint64_t u64[N];
signed char sc[N];
unsigned char uc[N];
short ss[N];
unsigned short us[N];
float f32[N];
double f64[N];

int64_t sum_signed(size_t n) {
  int64_t t = 0;
  for (size_t i = 0; i < n; i++)
    t += s8[i] + s16[i] + s32[i] + s64[i] + sc[i] + ss[i];
  return t;
}

uint64_t sum_unsigned(size_t n) {
  uint64_t t = 0;
  for (size_t i = 0; i < n; i++)
    t += u8[i] + u16[i] + u32[i] + u64[i] + uc[i] + us[i];
  return t;
}

void widen(int64_t *dst, const int8_t *a, const int16_t *b, const int32_t *c, int n) {
  for (int i = 0; i < n; i++)
    dst[i] = a[i] * 3 + b[i] - c[i];
}

void narrow(int8_t *a, int16_t *b, int32_t *c, const int64_t *src, int n) {
  for (int i = 0; i < n; i++) {
    a[i] = (int8_t)src[i];
    b[i] = (int16_t)src[i];
    c[i] = (int32_t)src[i];
  }
}

void strided(uint32_t *p, int n, int stride) {
  for (int i = 0; i < n; i += stride)
    p[i] = p[i + stride] ^ (uint32_t)i;
}

void reverse(uint16_t *p, int n) {
  for (int i = 0, j = n - 1; i < j; i++, j--) {
    uint16_t t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
}

int64_t gather(const int64_t *base, const int32_t *idx, int n) {
  int64_t t = 0;
  for (int i = 0; i < n; i++)
    t += base[idx[i]];
  return t;
}

int64_t gather_u(const int64_t *base, const uint32_t *idx, unsigned n) {
  int64_t t = 0;
  for (unsigned i = 0; i < n; i++)
    t += base[idx[i]] + base[(int)idx[i] - 1];
  return t;
}

void fill(uint8_t *p, uint16_t *q, uint32_t *r, uint64_t *s, int n) {
  for (int i = 0; i < n; i++) {
    p[i] = 0xAB;
    q[i] = 0x1234;
    r[i] = 0xDEADBEEF;
    s[i] = (uint64_t)-5;
  }
}

double dot(const double *a, const float *b, int n) {
  double t = 0;
  for (int i = 0; i < n; i++)
    t += a[i] * b[i];
  return t;
}

void copy2d(int32_t dst[][17], int32_t src[][17], int rows) {
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < 17; c++)
      dst[r][c] = src[r][16 - c];
}

int main(int argc, char **argv) {
  (void)argv;
  widen(s64, s8, s16, s32, argc);
  narrow(s8, s16, s32, s64, argc);
  strided(u32, argc, 2);
  reverse(u16, argc);
  fill(u8, u16, u32, u64, argc);
  copy2d((int32_t(*)[17])s32, (int32_t(*)[17])(s32 + 500), argc);
  return (int)(sum_signed((size_t)argc) + (int64_t)sum_unsigned((size_t)argc)
               + gather(s64, s32, argc) + gather_u(s64, u32, (unsigned)argc)
               + (int64_t)dot(f64, f32, argc));
}
