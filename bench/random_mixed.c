/* random_mixed ITERS MAXSIZE SEED [WORKSET]
 * Single thread, random sizes in [16, MAXSIZE], a working set of WORKSET
 * slots (default 8192).  Each iteration picks a random slot: an empty slot is
 * filled with a fresh block (first and last bytes written), a full one is
 * checked and freed.  Reports iterations (each one malloc or one free) per
 * second. */
#include "bench_common.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: random_mixed ITERS MAXSIZE SEED [WORKSET]\n");
        return 1;
    }
    long iters = arg_l(argc, argv, 1, 1000000);
    size_t maxsz = (size_t)arg_l(argc, argv, 2, 1024);
    uint64_t seed = (uint64_t)arg_l(argc, argv, 3, 42);
    long ws = arg_l(argc, argv, 4, 8192);
    if (iters < 1 || maxsz < 16 || ws < 1) {
        fprintf(stderr, "random_mixed: bad arguments\n");
        return 1;
    }
    void **slot = calloc((size_t)ws, sizeof *slot);
    uint32_t *size = calloc((size_t)ws, sizeof *size);
    uint64_t *key = calloc((size_t)ws, sizeof *key);
    rng_t r;
    rng_seed(&r, seed);

    double t0 = now_s();
    for (long i = 0; i < iters; i++) {
        uint64_t x = rng_next(&r);
        long s = (long)(x % (uint64_t)ws);
        if (slot[s]) {
            tag_check(slot[s], size[s], key[s], "random_mixed");
            free(slot[s]);
            slot[s] = NULL;
        } else {
            size_t sz = 16 + (size_t)((x >> 32) % (maxsz - 15));
            void *p = xmalloc(sz);
            tag_set(p, sz, (uint64_t)i);
            slot[s] = p; size[s] = (uint32_t)sz; key[s] = (uint64_t)i;
        }
    }
    double el = now_s() - t0;
    for (long s = 0; s < ws; s++)
        if (slot[s]) { tag_check(slot[s], size[s], key[s], "random_mixed"); free(slot[s]); }
    free(slot); free(size); free(key);
    char extra[96];
    snprintf(extra, sizeof extra, "maxsize=%zu workset=%ld seconds=%.3f", maxsz, ws, el);
    result("random_mixed", "ops_per_s", (double)iters / el, "higher", extra);
    return 0;
}
