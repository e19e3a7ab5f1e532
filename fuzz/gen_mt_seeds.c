/* fuzz/gen_mt_seeds.c: writes the fuzz/mt seed corpus (corpus/mt/). */
#include <stdio.h>
#include <stdlib.h>

#include "ops_emit.h"

static const char *dir;
static uint8_t buf[1 << 16];
static int nseeds;

static void save(hfz_writer *w, const char *name) {
  char path[4096];
  if (w->err) { fprintf(stderr, "gen_mt_seeds: %s does not fit\n", name); exit(1); }
  snprintf(path, sizeof path, "%s/seed-%02d-%s", dir, nseeds++, name);
  if (hfz_write_file(w, path) != 0) { perror(path); exit(1); }
}

int main(int argc, char **argv) {
  hfz_writer w;
  static const size_t sizes[] = { 8, 64, 1024, 1025, 5000, 65536, 65537, 300000 };
  if (argc != 2) { fprintf(stderr, "usage: gen_mt_seeds DIR\n"); return 2; }
  dir = argv[1];

  /* ping-pong: thread 0 produces, thread 1 frees (remote) */
  hfz_mt_init(&w, buf, sizeof buf, 2);
  for (unsigned r = 0; r < 4; r++) {
    for (unsigned i = 0; i < 8; i++) {
      hfz_mt(&w, HFZ_MT_MALLOC, 0, i, sizes[i], 0);
      hfz_mt(&w, HFZ_MT_SEND, 0, i, i, 0);
    }
    for (unsigned i = 0; i < 8; i++) hfz_mt(&w, HFZ_MT_RECV_FREE, 1, 0, i, 0);
    hfz_mt(&w, HFZ_MT_DRAIN, 0, 0, 0, 0);
    hfz_mt(&w, HFZ_MT_SYNC, 0, 0, 0, 0);
  }
  save(&w, "ping-pong");

  /* every thread produces and consumes, phases with checks */
  for (unsigned nt = 2; nt <= 4; nt++) {
    char name[32];
    hfz_mt_init(&w, buf, sizeof buf, nt);
    for (unsigned ph = 0; ph < 3; ph++) {
      for (unsigned i = 0; i < 24; i++) {
        unsigned t = i % nt;
        hfz_mt(&w, i % 3 == 0 ? HFZ_MT_CALLOC : HFZ_MT_MALLOC, t, i, 16 + (i * 211) % 3000, i);
        hfz_mt(&w, HFZ_MT_SEND, t, i, (i + ph) % HFZ_MT_XFER, 0);
        hfz_mt(&w, HFZ_MT_RECV, (t + 1) % nt, i + 1, (i + 3) % HFZ_MT_XFER, 0);
        hfz_mt(&w, HFZ_MT_REALLOC, (t + 1) % nt, i + 1, 100 + i * 50, 0);
      }
      hfz_mt(&w, HFZ_MT_COLLECT, ph % nt, 0, 0, 0);
      hfz_mt(&w, HFZ_MT_SYNC, 0, 0, 0, 0);
    }
    snprintf(name, sizeof name, "exchange-%ut", nt);
    save(&w, name);
  }

  /* thread exit with blocks held by others, then adoption */
  hfz_mt_init(&w, buf, sizeof buf, 3);
  for (unsigned i = 0; i < 10; i++) {
    hfz_mt(&w, HFZ_MT_MALLOC, 0, i, sizes[i % 8], 0);
    hfz_mt(&w, HFZ_MT_SEND, 0, i, i, 0);
  }
  hfz_mt(&w, HFZ_MT_EXIT, 0, 0, 0, 0);
  for (unsigned i = 0; i < 10; i++) hfz_mt(&w, HFZ_MT_RECV_FREE, 1 + i % 2, 0, i, 0);
  hfz_mt(&w, HFZ_MT_SYNC, 0, 0, 0, 0);
  hfz_mt(&w, HFZ_MT_MALLOC, 1, 3, 40, 0);
  hfz_mt(&w, HFZ_MT_EXIT, 1, 0, 0, 0);
  hfz_mt(&w, HFZ_MT_MALLOC, 2, 4, 40, 0);                 /* may adopt */
  hfz_mt(&w, HFZ_MT_ALIGNED, 2, 5, 5000, 12);
  hfz_mt(&w, HFZ_MT_SEND, 2, 5, 1, 0);
  hfz_mt(&w, HFZ_MT_RECV, 0, 6, 1, 0);
  hfz_mt(&w, HFZ_MT_VERIFY, 0, 6, 0, 0);
  hfz_mt_real_exit(&w);
  save(&w, "exit-adopt");

  /* pseudo-random mixes */
  for (unsigned k = 0; k < 4; k++) {
    char name[32];
    uint32_t x = 777 + k;
    hfz_mt_init(&w, buf, sizeof buf, 2 + k % 3);
    for (unsigned i = 0; i < 300; i++) {
      x = x * 1103515245u + 12345u;
      unsigned r = x >> 8, op = r % HFZ_MT_COUNT;
      if (op == HFZ_MT_SYNC && (r >> 4) % 4) op = HFZ_MT_MALLOC;
      if (op == HFZ_MT_EXIT && (r >> 4) % 4) op = HFZ_MT_SEND;
      hfz_rec(&w, op, r >> 4, r >> 6, r >> 12, 0, (r >> 17) % 4, 0, x);
    }
    snprintf(name, sizeof name, "mix-%u", k);
    save(&w, name);
  }
  fprintf(stderr, "gen_mt_seeds: %d seeds in %s\n", nseeds, dir);
  return 0;
}
