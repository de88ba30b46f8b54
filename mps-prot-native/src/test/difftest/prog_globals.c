/* prog_globals.c -- difftest corpus: globals (rip-relative on x86-64, adrp+ldr on
 * aarch64), statics, volatile, thread-locals (fs: on x86-64), stack locals, spills.
 * Compiled and disassembled; never run. */
#include <stdint.h>

int g_int = 1;
long g_long = 2;
short g_short = 3;
unsigned char g_uchar = 4;
signed char g_schar = -5;
static int64_t s_arr[32];
volatile uint32_t g_vol;
double g_double = 1.5;
float g_float = 2.5f;
int *g_ptr = &g_int;
__thread int tls_int;
__thread long tls_arr[8];

void set_globals(int v) {
  g_int = v;
  g_long = v * 2L;
  g_short = (short)v;
  g_uchar = (unsigned char)v;
  g_schar = (signed char)v;
  s_arr[v & 31] = v;
  g_vol = (uint32_t)v;
  g_double = v;
  g_float = (float)v;
  *g_ptr = v + 1;
  tls_int = v;
  tls_arr[v & 7] = v;
}

long get_globals(void) {
  return g_int + g_long + g_short + g_uchar + g_schar + s_arr[g_int & 31] + g_vol
         + (long)g_double + (long)g_float + *g_ptr + tls_int + tls_arr[1];
}

long many_args(long a, long b, long c, long d, long e, long f, long g, long h, long i,
               char j, short k, int l, unsigned char m, unsigned short n) {
  return a + b + c + d + e + f + g + h + i + j + k + l + m + n;
}

long locals(int n) {
  volatile long arr[40];
  volatile char bytes[40];
  volatile short halves[40];
  volatile int words[40];
  for (int i = 0; i < 40; i++) {
    arr[i] = i * n;
    bytes[i] = (char)i;
    halves[i] = (short)-i;
    words[i] = i ^ n;
  }
  long t = 0;
  for (int i = 0; i < 40; i++)
    t += arr[(i * 7) % 40] + bytes[i] + halves[39 - i] + words[i];
  return t + many_args(t, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13);
}

long vla(int n) {
  long a[n + 1];
  for (int i = 0; i <= n; i++)
    a[i] = i;
  return a[n / 2];
}

int main(int argc, char **argv) {
  (void)argv;
  set_globals(argc);
  return (int)(get_globals() + locals(argc) + vla(argc));
}
