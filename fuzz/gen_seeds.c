/* fuzz/gen_seeds.c: writes the fuzz/ops seed corpus (corpus/ops/) with the
 * writer functions of fuzz/ops_emit.h: every operation, every tier, the
 * class and tier boundaries, the public API variants, the error paths.
 *   gen_seeds DIR    (make fuzz-seeds regenerates corpus/ops) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_emit.h"

static const char *dir, *oom_dir;   /* out-of-memory seeds (HFZ_OOM_KEY) go to oom_dir */
static uint8_t buf[1 << 16];
static int nseeds;

static void save(hfz_writer *w, const char *name) {
  char path[4096];
  if (w->err) { fprintf(stderr, "gen_seeds: %s does not fit or is not encodable\n", name); exit(1); }
  snprintf(path, sizeof path, "%s/seed-%02d-%s", w->len > 3 && w->buf[3] == HFZ_OOM_KEY ? oom_dir : dir, nseeds++, name);
  if (hfz_write_file(w, path) != 0) { perror(path); exit(1); }
}

/* sizes per tier */
static const size_t tiny[] = { 0, 1, 15, 16, 17, 48, 64, 100, 128, 129, 255, 512, 777, 1023, 1024 };
static const size_t mid[]  = { 1025, 1280, 1281, 2048, 4000, 4096, 8193, 16384, 30000, 49152, 65535, 65536 };
static const size_t large[] = { 65537, 100000, 131072, 262145, (1u << 20) + 7, (2u << 20) - 1, 2u << 20,
                                (2u << 20) + 1, 3u << 20, (4u << 20) + 1 };
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void tier_seed(const char *name, const size_t *sz, size_t n) {
  hfz_writer w;
  hfz_init(&w, buf, sizeof buf, 1, HFZ_F_DEEP, 2);
  for (size_t i = 0; i < n; i++) hfz_malloc(&w, 0, (unsigned)i, sz[i]);
  for (size_t i = 0; i < n; i++) hfz_usable(&w, (unsigned)i);
  for (size_t i = 0; i < n; i += 2) hfz_free(&w, 0, (unsigned)i);
  for (size_t i = 0; i < n; i++) hfz_calloc(&w, 1, (unsigned)(32 + i), 1 + i % 4, sz[i] / (1 + i % 4));
  for (size_t i = 1; i < n; i += 2) hfz_free_by(&w, 1, (unsigned)i);   /* remote for tiny/mid */
  hfz_drain(&w, 0);
  for (size_t i = 0; i < n; i++) hfz_malloc(&w, 0, (unsigned)i, sz[n - 1 - i]);
  hfz_check(&w, 1);
  if (sz[n - 1] > 1024) hfz_long(&w);   /* mid and large: calloc zeroes and fills of MiBs */
  save(&w, name);
}

int main(int argc, char **argv) {
  hfz_writer w;
  if (argc != 2 && argc != 3) { fprintf(stderr, "usage: gen_seeds DIR [OOM-DIR]\n"); return 2; }
  dir = argv[1];
  oom_dir = argc > 2 ? argv[2] : argv[1];

  tier_seed("tiny", tiny, N(tiny));
  tier_seed("mid", mid, N(mid));
  tier_seed("large", large, N(large));

  /* every class size - 1, exact, + 1 */
  hfz_init(&w, buf, sizeof buf, 8, 0, 1);
  for (unsigned c = 0; c < 44; c++)
    for (unsigned d = 0; d < 3; d++) hfz_rec(&w, HFZ_OP_MALLOC, 0, 0, (c * 3 + d) % 64, 0, HFZ_SZ_CLASS, d, c);
  hfz_check(&w, 1);
  save(&w, "class-boundaries");

  /* boundary table, allocated and freed by alternating heaps */
  hfz_init(&w, buf, sizeof buf, 4, 0, 3);
  for (unsigned i = 0; i < HFZ_NBOUNDARY; i++) {
    hfz_rec(&w, HFZ_OP_MALLOC, i % 3, 0, i % 64, 0, HFZ_SZ_BOUNDARY, 0, i);
    if (i % 5 == 4) hfz_free_by(&w, (i + 1) % 3, (i - 2) % 64);
  }
  save(&w, "boundaries");

  /* realloc: grow and shrink across every tier, to 0, from NULL */
  hfz_init(&w, buf, sizeof buf, 1, HFZ_F_DEEP, 2);
  {
    static const size_t path[] = { 1, 16, 17, 100, 1024, 1025, 4096, 65536, 65537, 300000,
                                   (2u << 20) + 3, 70000, 65536, 5000, 1024, 1000, 16, 0 };
    for (unsigned i = 0; i < N(path); i++) hfz_realloc(&w, 0, 1, path[i]);
    for (unsigned i = 0; i < N(path); i++) hfz_realloc(&w, i % 2, 2, path[N(path) - 1 - i] + 1);
    hfz_malloc(&w, 0, 3, 200);
    hfz_realloc(&w, 1, 3, 300);         /* realloc of heap 0's block as heap 1 */
    hfz_realloc(&w, 1, 3, 100);
    hfz_realloc(&w, 0, 3, (size_t)-1);  /* impossible: fails, block intact */
    hfz_realloc(&w, 0, 3, 0);
  }
  save(&w, "realloc");

  /* aligned allocations: every alignment 1 .. 4 MiB over the tiers */
  hfz_init(&w, buf, sizeof buf, 2, 0, 2);
  for (unsigned l = 0; l <= HFZ_MAX_ALIGN_LOG; l++) {
    hfz_aligned(&w, l % 2, l, (size_t)1 << l, l * 97u);
    hfz_aligned(&w, 0, 32 + l, (size_t)1 << l, 1025 + l * 3001u);
    if (l >= 12) hfz_aligned(&w, 1, 24 + l % 8, (size_t)1 << l, 70000);
  }
  for (unsigned l = 0; l <= HFZ_MAX_ALIGN_LOG; l++) hfz_free(&w, 0, l);
  hfz_check(&w, 1);
  save(&w, "aligned");

  /* remote frees and draining */
  hfz_init(&w, buf, sizeof buf, 3, HFZ_F_DEEP, 3);
  for (unsigned i = 0; i < 48; i++) hfz_malloc(&w, 0, i, 16 + i * 40);
  for (unsigned i = 0; i < 48; i++) hfz_free_by(&w, 1 + i % 2, i);
  hfz_check(&w, 1);
  hfz_drain(&w, 0);
  for (unsigned i = 0; i < 48; i++) hfz_malloc(&w, 0, i, 16 + i * 40);
  hfz_bulk_alloc(&w, 0, 256, 64);
  hfz_bulk_free(&w, 2, HFZ_BF_ODD, 1, 0);
  hfz_drain(&w, 0);
  hfz_bulk_free(&w, 1, HFZ_BF_ALL, 1, 0);
  hfz_collect(&w, 0);
  hfz_long(&w);                        /* deep checks of 300 blocks */
  save(&w, "remote");

  /* abandon / adopt (thread exit) with blocks held by other heaps */
  hfz_init(&w, buf, sizeof buf, 1, HFZ_F_DEEP, 3);
  for (unsigned i = 0; i < 20; i++) hfz_malloc(&w, 1, i, i < 10 ? 40 + i : 3000 + i);
  hfz_malloc(&w, 1, 20, 100000);
  hfz_abandon(&w, 1);
  for (unsigned i = 0; i < 20; i += 3) hfz_free(&w, 0, i);   /* remote into the abandoned heap */
  hfz_malloc(&w, 2, 40, 40);
  hfz_abandon(&w, 2);
  hfz_adopt(&w, 1);                                           /* oldest first */
  hfz_adopt(&w, 3);
  hfz_adopt(&w, 2);                                           /* none left */
  for (unsigned i = 1; i < 20; i += 3) hfz_free_by(&w, 3, i);
  hfz_drain(&w, 1);
  hfz_abandon(&w, 1);
  hfz_abandon(&w, 3);
  hfz_check(&w, 1);
  save(&w, "abandon-adopt");

  /* collect / trim / segment release */
  hfz_init(&w, buf, sizeof buf, 16, 0, 2);
  hfz_bulk_alloc(&w, 0, 2048, 1024);                          /* 2 MiB of tiny blocks: > one segment */
  hfz_bulk_alloc(&w, 1, 256, 8000);                           /* 2 MB of mid blocks */
  hfz_bulk_free(&w, 0, HFZ_BF_HALF, 0, 0);
  hfz_collect(&w, 0);
  hfz_check(&w, 1);
  hfz_bulk_free(&w, 0, HFZ_BF_ALL, 0, 0);
  hfz_collect(&w, 0);
  hfz_collect(&w, 1);
  hfz_trim(&w);
  hfz_malloc(&w, 0, 0, 100);
  hfz_malloc(&w, 1, 1, 300000);                              /* a large block after the trim */
  hfz_free(&w, 0, 1);
  hfz_trim(&w);
  hfz_check(&w, 1);
  save(&w, "collect-trim");

  /* public API: every variant, as the thread heap (implicit creation) */
  hfz_init(&w, buf, sizeof buf, 8, HFZ_F_DEEP, 1);   /* deep checks verify every fill: not every op */
  for (unsigned v = 0; v < HFZ_P_COUNT; v++)
    for (unsigned sel = 0; sel < 16; sel += 3) {
      unsigned slot = (v * 6 + sel / 3) % 64;
      hfz_plain_alloc(&w, v, slot, sel, 100 + v * 900 + sel * 5000);
    }
  for (unsigned s = 0; s < 64; s++) hfz_plain_free(&w, s % 4, s);
  for (unsigned sel = 0; sel < 16; sel++) hfz_plain_alloc(&w, HFZ_P_POSIX_MEMALIGN, sel, sel, 64); /* incl. EINVAL */
  hfz_plain_alloc(&w, HFZ_P_ALIGNED_ALLOC, 20, 4, 300);
  hfz_plain_free(&w, HFZ_PF_ALIGNED_SIZED, 20);
  hfz_plain_alloc(&w, HFZ_P_MALLOC, 21, 0, 300);
  hfz_plain_free(&w, HFZ_PF_SIZED, 21);
  hfz_plain_alloc(&w, HFZ_P_CALLOC, 22, 15, 64);              /* overflow */
  hfz_plain_alloc(&w, HFZ_P_REALLOCARRAY, 23, 15, 64);        /* overflow */
  hfz_plain_alloc(&w, HFZ_P_PVALLOC, 24, 0, 0);
  hfz_long(&w);
  save(&w, "plain-api");

  /* binding and unbinding */
  hfz_init(&w, buf, sizeof buf, 1, 0, 2);
  hfz_bind(&w, 1);
  hfz_plain_alloc(&w, HFZ_P_MALLOC, 0, 0, 50);
  hfz_bind(&w, 0);
  hfz_plain_alloc(&w, HFZ_P_MALLOC, 1, 0, 5000);
  hfz_plain_free(&w, HFZ_PF_FREE, 0);                         /* remote: heap 1's block freed as heap 0 */
  hfz_unbind(&w);
  hfz_abandon(&w, 1);
  hfz_plain_alloc(&w, HFZ_P_MALLOC, 2, 0, 70);                /* unbound: create or adopt */
  hfz_plain_free(&w, HFZ_PF_FREE, 1);
  hfz_plain_free(&w, HFZ_PF_FREE, 2);
  save(&w, "bind");

  /* destroy with live blocks and pending remote frees */
  hfz_init(&w, buf, sizeof buf, 1, HFZ_F_DEEP, 3);
  for (unsigned i = 0; i < 30; i++) hfz_malloc(&w, 1, i, 10 + i * 700);
  hfz_malloc(&w, 1, 30, 90000);
  for (unsigned i = 0; i < 30; i += 4) hfz_free_by(&w, 0, i);
  hfz_bulk_alloc(&w, 1, 128, 32);
  hfz_destroy(&w, 1);
  hfz_malloc(&w, 1, 0, 33);                                   /* slot 1 gets a fresh heap */
  hfz_destroy(&w, 2);
  hfz_long(&w);
  save(&w, "destroy");

  /* impossible and huge sizes: NULL + ENOMEM */
  hfz_init(&w, buf, sizeof buf, 4, 0, 1);
  for (unsigned i = 0; i < HFZ_NHUGE; i++) {
    hfz_rec(&w, HFZ_OP_MALLOC, 0, 0, i, 0, HFZ_SZ_HUGE, 0, i);
    hfz_rec(&w, HFZ_OP_ALIGNED, 0, 12, i, 0, HFZ_SZ_HUGE, 0, i);
    hfz_rec(&w, HFZ_OP_CALLOC, 0, 0, i, 0, HFZ_SZ_HUGE, 0, i);
  }
  hfz_calloc(&w, 0, 30, 0, 16);                               /* nmemb * size overflows */
  hfz_malloc(&w, 0, 31, 64);
  hfz_rec(&w, HFZ_OP_REALLOC, 0, 0, 31, 0, HFZ_SZ_HUGE, 0, 0);
  save(&w, "huge");

  /* OS failure injection: the k-th map fails */
  for (unsigned k = 1; k <= 3; k++) {
    char name[32];
    hfz_init(&w, buf, sizeof buf, 2, 0, 2);
    hfz_osfail(&w, k);
    hfz_malloc(&w, 0, 0, 100);
    hfz_malloc(&w, 0, 1, 3000);
    hfz_malloc(&w, 0, 2, 200000);
    hfz_bulk_alloc(&w, 1, 4096, 512);
    hfz_realloc(&w, 0, 2, 3u << 20);
    hfz_malloc(&w, 1, 3, 20000);
    hfz_abandon(&w, 1);
    hfz_malloc(&w, 1, 4, 10);
    hfz_check(&w, 1);
    snprintf(name, sizeof name, "osfail-%u", k);
    save(&w, name);
  }

  /* refill (writes to live memory) + keep mode (destroy at reset reclaims) */
  hfz_init(&w, buf, sizeof buf, 16, HFZ_F_KEEP | HFZ_F_DEEP, 4);
  for (unsigned i = 0; i < 64; i++) hfz_rec(&w, HFZ_OP_MALLOC, i % 4, 0, i, 0, i % 3 == 0 ? HFZ_SZ_SMALL : HFZ_SZ_MID, 0, i * 7919u);
  for (unsigned i = 0; i < 64; i++) hfz_refill(&w, i);
  for (unsigned i = 0; i < 64; i += 2) hfz_free_by(&w, (i + 1) % 4, i);
  hfz_long(&w);
  save(&w, "refill-keep");

  /* churn: mixed random-looking workload */
  hfz_init(&w, buf, sizeof buf, 32, 0, 4);
  {
    uint32_t x = 12345;
    for (unsigned i = 0; i < 400; i++) {
      x = x * 1103515245u + 12345u;
      unsigned r = x >> 8;
      unsigned op = (r % 7 < 4) ? HFZ_OP_MALLOC : (r % 7 == 4 ? HFZ_OP_FREE_BY : r % 7 == 5 ? HFZ_OP_REALLOC : HFZ_OP_FREE);
      hfz_rec(&w, op, r >> 3, r >> 5, r >> 11, 0, (r >> 17) % 4, r >> 20, x);
    }
  }
  hfz_long(&w);                        /* 400 records */
  save(&w, "churn");

  fprintf(stderr, "gen_seeds: %d seeds in %s\n", nseeds, dir);
  return 0;
}
