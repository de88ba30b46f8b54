/* prog_structs.c -- difftest corpus: structs, arrays of structs, pointer chasing,
 * bitfields, unions.  Compiled and disassembled; never run. */
#include <stdint.h>
#include <string.h>

struct node {
  struct node *next;
  int8_t tag;
  uint8_t flags;
  int16_t small;
  uint16_t usmall;
  int32_t value;
  int64_t big;
  double d;
  char name[13];
};

struct packed {
  char c;
  int64_t v;
  short s;
} __attribute__((packed));

struct bits {
  unsigned a : 3;
  signed b : 7;
  unsigned c : 22;
  uint64_t d : 40;
};

union pun {
  double d;
  int64_t i;
  float f[2];
  uint8_t b[8];
};

int64_t walk(const struct node *n) {
  int64_t t = 0;
  for (; n; n = n->next)
    t += n->tag + n->flags + n->small + n->usmall + n->value + n->big + n->name[3];
  return t;
}

void update(struct node *n, int k) {
  while (n) {
    n->tag = (int8_t)k;
    n->flags |= 1;
    n->small = (int16_t)(n->small * 3);
    n->usmall = (uint16_t)k;
    n->value += k;
    n->big = n->next ? n->next->big : -1;
    n->d = n->d * 0.5;
    n = n->next;
  }
}

int64_t packed_sum(struct packed *p, int n) {
  int64_t t = 0;
  for (int i = 0; i < n; i++) {
    t += p[i].v + p[i].s + p[i].c;
    p[i].v = t;
    p[i].s = (short)t;
  }
  return t;
}

int bits(struct bits *b, int n) {
  int t = 0;
  for (int i = 0; i < n; i++) {
    t += b[i].a + b[i].b + (int)b[i].c + (int)b[i].d;
    b[i].b = (signed)(t & 31);
    b[i].d = (uint64_t)t;
  }
  return t;
}

int64_t punning(union pun *u, int n) {
  int64_t t = 0;
  for (int i = 0; i < n; i++) {
    t += u[i].i + u[i].b[7] + (int64_t)u[i].f[1];
    u[i].d = (double)t;
  }
  return t;
}

int64_t bits_of(double d) {
  int64_t i;
  memcpy(&i, &d, sizeof i);
  return i;
}

double from_bits(const int64_t *p) {
  double d;
  memcpy(&d, p, sizeof d);
  return d;
}

float fbits(const int32_t *p) {
  float f;
  memcpy(&f, p, sizeof f);
  return f;
}

struct node *find(struct node **buckets, unsigned h, const char *name) {
  for (struct node *n = buckets[h & 63]; n; n = n->next)
    if (memcmp(n->name, name, 4) == 0)
      return n;
  return 0;
}

struct node pool[64];
struct node *table[64];

int main(int argc, char **argv) {
  for (int i = 0; i < 63; i++)
    pool[i].next = &pool[i + 1];
  update(pool, argc);
  struct packed pk[4] = {{0}};
  struct bits bs[4] = {{0}};
  union pun un[4] = {{0}};
  int64_t r = walk(pool) + packed_sum(pk, argc) + bits(bs, argc) + punning(un, argc);
  r += bits_of((double)argc) + (int64_t)from_bits(&r) + (int64_t)fbits((int32_t *)&r);
  return (int)r + (find(table, (unsigned)argc, argv[0]) != 0);
}
