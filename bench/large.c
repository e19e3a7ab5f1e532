/* large ITERS SEED [WORKSET]
 * Large blocks: sizes log-uniform in [64 KiB, 32 MiB], WORKSET slots (default
 * 8).  Each iteration picks a slot; 3 times in 4 it frees the block there and
 * allocates a new one, otherwise it reallocs it to a new size (checking the
 * preserved prefix).  Every new or grown region is touched once per 4 KiB
 * page, so an allocator that gives pages back and re-faults them pays for it
 * (about 11 us per page on this VM).  Reports iterations per second. */
#include "bench_common.h"
#include <math.h>

#define MIN_SZ (64u << 10)
#define MAX_SZ (32u << 20)

static size_t pick(rng_t *r)
{
    double u = (double)(rng_next(r) >> 11) / 9007199254740992.0;
    return (size_t)(MIN_SZ * exp(u * log((double)MAX_SZ / MIN_SZ))) & ~(size_t)15;
}

static void touch(unsigned char *p, size_t from, size_t to, unsigned char v)
{
    for (size_t o = from; o < to; o += 4096) p[o] = v;
    if (to > from) p[to - 1] = v;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: large ITERS SEED [WORKSET]\n");
        return 1;
    }
    long iters = arg_l(argc, argv, 1, 100);
    uint64_t seed = (uint64_t)arg_l(argc, argv, 2, 42);
    long ws = arg_l(argc, argv, 3, 8);
    if (iters < 1 || ws < 1) {
        fprintf(stderr, "large: bad arguments\n");
        return 1;
    }
    unsigned char **slot = calloc((size_t)ws, sizeof *slot);
    size_t *size = calloc((size_t)ws, sizeof *size);
    uint64_t *key = calloc((size_t)ws, sizeof *key);
    rng_t r;
    rng_seed(&r, seed);
    bench_every = 1;   /* blocks are touched page by page anyway: always check */
    long reallocs = 0;
    double t0 = now_s();
    for (long i = 0; i < iters; i++) {
        long s = (long)(rng_next(&r) % (uint64_t)ws);
        size_t sz = pick(&r);
        if (slot[s] && (rng_next(&r) & 3) == 0) {
            tag_check(slot[s], size[s], key[s], "large");
            size_t keep = size[s] < sz ? size[s] : sz;
            unsigned char mid = slot[s][keep / 2];
            unsigned char *p = realloc(slot[s], sz);
            if (!p) { fprintf(stderr, "large: realloc(%zu) failed\n", sz); return 3; }
            if (p[keep / 2] != mid || (keep >= 8 && tag_of(key[s]) != *(uint64_t *)(void *)p)) {
                fprintf(stderr, "bench large: CORRUPTION realloc lost contents\n");
                return 2;
            }
            if (sz > size[s]) touch(p, size[s], sz, (unsigned char)i);
            tag_set(p, sz, key[s]);
            slot[s] = p; size[s] = sz;
            reallocs++;
        } else {
            if (slot[s]) { tag_check(slot[s], size[s], key[s], "large"); free(slot[s]); }
            unsigned char *p = xmalloc(sz);
            touch(p, 0, sz, (unsigned char)i);
            tag_set(p, sz, (uint64_t)i);
            slot[s] = p; size[s] = sz; key[s] = (uint64_t)i;
        }
    }
    double el = now_s() - t0;
    for (long s = 0; s < ws; s++)
        if (slot[s]) { tag_check(slot[s], size[s], key[s], "large"); free(slot[s]); }
    free(slot); free(size); free(key);
    char extra[96];
    snprintf(extra, sizeof extra, "workset=%ld reallocs=%ld seconds=%.3f", ws, reallocs, el);
    result("large", "ops_per_s", (double)iters / el, "higher", extra);
    return 0;
}
