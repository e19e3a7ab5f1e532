/* fastpath MODE ITERS SEED [SIZE]
 * Fast-path cost with 10,000 live objects (16-512 B) already allocated.
 *   pair:  ITERS times p = malloc(SIZE); write 1 byte; free(p).  SIZE defaults
 *          to 64; SIZE 0 cycles through 16 random sizes in [16, 256].
 *          Reports ns per malloc+free pair.
 *   batch: ITERS times allocate a batch of 100 blocks of random sizes in
 *          [16, 512] (first byte written), then free them in reverse (LIFO).
 *          Reports ns per batch (ns_per_op = per malloc or free is extra). */
#include "bench_common.h"

#define LIVE 10000
#define BATCH 100
#define NSIZES 4096

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "pair") && strcmp(argv[1], "batch"))) {
        fprintf(stderr, "usage: fastpath pair|batch ITERS SEED [SIZE]\n");
        return 1;
    }
    int batch = strcmp(argv[1], "batch") == 0;
    long iters = arg_l(argc, argv, 2, 10000000);
    uint64_t seed = (uint64_t)arg_l(argc, argv, 3, 42);
    if (iters < 1) { fprintf(stderr, "fastpath: bad arguments\n"); return 1; }
    rng_t r;
    rng_seed(&r, seed);

    void **live = xmalloc(LIVE * sizeof *live);
    for (int i = 0; i < LIVE; i++) {
        size_t sz = rng_range(&r, 16, 512);
        live[i] = xmalloc(sz);
        tag_set(live[i], sz, (uint64_t)i);
    }
    uint32_t *sizes = xmalloc(NSIZES * sizeof *sizes);
    for (int i = 0; i < NSIZES; i++) sizes[i] = (uint32_t)rng_range(&r, 16, batch ? 512 : 256);
    long fixed = arg_l(argc, argv, 4, 64);
    if (fixed > 0 && !batch)
        for (int i = 0; i < NSIZES; i++) sizes[i] = (uint32_t)fixed;

    double t0, el;
    if (!batch) {
        t0 = now_s();
        for (long i = 0; i < iters; i++) {
            unsigned char *p = malloc(sizes[i & 15]);
            if (!p) return 3;
            *(volatile unsigned char *)p = (unsigned char)i;
            escape(p);
            free(p);
        }
        el = now_s() - t0;
    } else {
        void *b[BATCH];
        unsigned off = 0;
        t0 = now_s();
        for (long i = 0; i < iters; i++) {
            for (int k = 0; k < BATCH; k++) {
                unsigned char *p = malloc(sizes[(off + (unsigned)k) & (NSIZES - 1)]);
                if (!p) return 3;
                *(volatile unsigned char *)p = (unsigned char)k;
                b[k] = p;
            }
            escape(b);
            for (int k = BATCH - 1; k >= 0; k--) free(b[k]);
            off += 37;
        }
        el = now_s() - t0;
    }
    /* the live set must have survived untouched */
    rng_seed(&r, seed);
    for (int i = 0; i < LIVE; i++) {
        size_t sz = rng_range(&r, 16, 512);
        tag_check(live[i], sz, (uint64_t)i, "fastpath");
        free(live[i]);
    }
    free(live); free(sizes);
    char extra[96];
    double per = el * 1e9 / (double)iters;
    if (!batch) {
        if (fixed > 0) snprintf(extra, sizeof extra, "size=%ld", fixed);
        else snprintf(extra, sizeof extra, "size=mixed16-256");
        result("fastpath_pair", "ns_per_pair", per, "lower", extra);
    } else {
        snprintf(extra, sizeof extra, "batch=%d ns_per_op=%.3f", BATCH, per / (2 * BATCH));
        result("fastpath_batch", "ns_per_batch", per, "lower", extra);
    }
    return 0;
}
