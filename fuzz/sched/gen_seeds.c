/* fuzz/sched/gen_seeds.c: seed inputs for the fuzz/sched target
 * (format: fuzz/sched/FORMAT.md).  Each seed is a script that makes threads
 * free blocks into each other's heaps while the owners drain, refill,
 * collect, exit and adopt, followed by a schedule.
 *   gen_seeds DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_emit.h"

#define CAP 8192

typedef struct seed {
  hfz_writer w;
  uint8_t    buf[CAP];
  uint8_t    sched[2048];
  size_t     slen;
} seed;

static void begin(seed *s, unsigned threads) {
  memset(s, 0, sizeof *s);
  hfz_mt_init(&s->w, s->buf, CAP, threads);
}
static void op(seed *s, unsigned o, unsigned t, unsigned slot, size_t v, unsigned aux) { hfz_mt(&s->w, o, t, slot, v, aux); }

static unsigned long rng = 88172645463325252ul;
static unsigned rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (unsigned)rng; }

static void sched_pattern(seed *s, int kind, size_t n) {
  s->slen = n;
  for (size_t i = 0; i < n; i++) {
    switch (kind) {
    case 0: s->sched[i] = (uint8_t)(i & 1); break;              /* alternate at every point */
    case 1: s->sched[i] = (uint8_t)((i / 3) & 1); break;        /* runs of three */
    case 2: s->sched[i] = (uint8_t)rnd(); break;                /* random */
    default: s->sched[i] = (uint8_t)((i % 7) == 0); break;      /* mostly thread 0 */
    }
  }
}

static void emit(seed *s, const char *dir, const char *name) {
  if (s->w.err) { fprintf(stderr, "gen_seeds: %s does not fit\n", name); exit(1); }
  size_t nrec = (s->w.len - HFZ_HEADER_LEN) / HFZ_REC_LEN;
  char path[1024];
  snprintf(path, sizeof path, "%s/seed-%s", dir, name);
  FILE *f = fopen(path, "wb");
  uint8_t r[2] = { (uint8_t)nrec, (uint8_t)(nrec >> 8) };
  if (!f || fwrite(s->buf, 1, HFZ_HEADER_LEN, f) != HFZ_HEADER_LEN || fwrite(r, 1, 2, f) != 2 ||
      fwrite(s->buf + HFZ_HEADER_LEN, HFZ_REC_LEN, nrec, f) != nrec ||
      fwrite(s->sched, 1, s->slen, f) != s->slen || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
}

/* Phase 1 (alone): T0 allocates and hands blocks over.  SYNC.  Phase 2
 * (concurrently): T1 frees them remotely into T0's heap while T0 keeps
 * allocating (refill drains first), drains and frees locally. */
static void remote_storm(seed *s, unsigned rounds, size_t size) {
  for (unsigned r = 0; r < rounds; r++) {
    for (unsigned i = 0; i < 6; i++) {
      op(s, HFZ_MT_MALLOC, 0, i, size, 0);
      op(s, HFZ_MT_SEND, 0, i, i, 0);
    }
    op(s, HFZ_MT_SYNC, 0, 0, 0, 0);
    for (unsigned i = 0; i < 6; i++) {
      op(s, HFZ_MT_RECV_FREE, 1, 0, i, 0);
      op(s, HFZ_MT_MALLOC, 0, 8 + i, size, 0);
      if (i & 1) op(s, HFZ_MT_DRAIN, 0, 0, 0, 0);
    }
    op(s, HFZ_MT_FREE, 0, 8, 0, 0);
    op(s, HFZ_MT_FREE, 0, 9, 0, 0);
    op(s, HFZ_MT_SYNC, 0, 0, 0, 0);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: gen_seeds DIR\n"); return 2; }
  const char *dir = argv[1];
  static seed s;
  char name[64];

  for (int k = 0; k < 4; k++) {
    begin(&s, 2);
    remote_storm(&s, 3, 48);
    sched_pattern(&s, k, 600);
    snprintf(name, sizeof name, "remote-storm-%d", k);
    emit(&s, dir, name);
  }

  /* two producers free into thread 0 concurrently */
  for (int k = 0; k < 3; k++) {
    begin(&s, 3);
    for (unsigned r = 0; r < 3; r++) {
      for (unsigned i = 0; i < 8; i++) { op(&s, HFZ_MT_MALLOC, 0, i, 32, 0); op(&s, HFZ_MT_SEND, 0, i, i, 0); }
      op(&s, HFZ_MT_SYNC, 0, 0, 0, 0);
      for (unsigned i = 0; i < 8; i++) {
        op(&s, HFZ_MT_RECV_FREE, 1 + (i & 1), 0, i, 0);
        if (i & 1) op(&s, HFZ_MT_MALLOC, 0, 10 + i, 32, 0);
        else op(&s, HFZ_MT_DRAIN, 0, 0, 0, 0);
      }
      op(&s, HFZ_MT_SYNC, 0, 0, 0, 0);
    }
    sched_pattern(&s, k == 0 ? 2 : k == 1 ? 1 : 0, 800);
    snprintf(name, sizeof name, "two-producers-%d", k);
    emit(&s, dir, name);
  }

  /* exit and adopt while blocks keep arriving */
  for (int k = 0; k < 2; k++) {
    begin(&s, 2);
    for (unsigned i = 0; i < 4; i++) { op(&s, HFZ_MT_MALLOC, 0, i, 64 + 16 * i, 0); op(&s, HFZ_MT_SEND, 0, i, i, 0); }
    op(&s, HFZ_MT_SYNC, 0, 0, 0, 0);
    op(&s, HFZ_MT_EXIT, 0, 0, 0, 0);
    for (unsigned i = 0; i < 4; i++) op(&s, HFZ_MT_RECV_FREE, 1, 0, i, 0);
    op(&s, HFZ_MT_COLLECT, 1, 0, 0, 1);            /* + trim: reclaim abandoned heaps */
    op(&s, HFZ_MT_MALLOC, 0, 5, 80, 0);            /* T0 adopts or creates */
    op(&s, HFZ_MT_EXIT, 1, 0, 0, 0);
    op(&s, HFZ_MT_MALLOC, 1, 6, 96, 0);
    op(&s, HFZ_MT_SEND, 1, 6, 9, 0);
    op(&s, HFZ_MT_RECV_FREE, 0, 0, 9, 0);
    op(&s, HFZ_MT_COLLECT, 0, 0, 0, 0);
    sched_pattern(&s, k ? 2 : 0, 600);
    snprintf(name, sizeof name, "exit-adopt-%d", k);
    emit(&s, dir, name);
  }

  /* mixed sizes (tiny, mid), realloc, SYNC checkpoints, four threads */
  begin(&s, 4);
  for (unsigned r = 0; r < 4; r++) {
    for (unsigned t = 0; t < 4; t++) {
      op(&s, HFZ_MT_MALLOC, t, r, t & 1 ? 2000 + 700 * r : 24 + 40 * r, 0);
      op(&s, HFZ_MT_SEND, t, r, t * 4 + r, 0);
    }
    op(&s, HFZ_MT_SYNC, 0, 0, 0, 0);
    for (unsigned t = 0; t < 4; t++) {
      op(&s, HFZ_MT_RECV_FREE, (t + 1) & 3, 0, t * 4 + r, 0);
      op(&s, HFZ_MT_REALLOC, t, 7, 100 * r + 10, 0);
    }
    op(&s, HFZ_MT_SYNC, 0, 0, 0, 0);
    op(&s, HFZ_MT_COLLECT, r & 3, 0, 0, r & 1);
  }
  sched_pattern(&s, 2, 1500);
  emit(&s, dir, "four-mixed");

  /* the last slab of a class emptied by remote frees while its owner
   * collects: slab and segment release vs push */
  begin(&s, 2);
  for (unsigned i = 0; i < 12; i++) { op(&s, HFZ_MT_MALLOC, 0, i, 1024, 0); op(&s, HFZ_MT_SEND, 0, i, i, 0); }
  op(&s, HFZ_MT_SYNC, 0, 0, 0, 0);
  for (unsigned i = 0; i < 12; i++) op(&s, HFZ_MT_RECV_FREE, 1, 0, i, 0);
  op(&s, HFZ_MT_COLLECT, 0, 0, 0, 1);
  op(&s, HFZ_MT_COLLECT, 0, 0, 0, 0);
  op(&s, HFZ_MT_MALLOC, 0, 0, 1024, 0);
  op(&s, HFZ_MT_COLLECT, 0, 0, 0, 0);
  sched_pattern(&s, 2, 800);
  emit(&s, dir, "release-vs-push");
  return 0;
}
