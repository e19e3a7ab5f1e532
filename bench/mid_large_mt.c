/* mid_large_mt THREADS ITERS WORKSET SEED
 * Each thread owns WORKSET slots and, ITERS times, replaces a random slot
 * with a fresh block of 8-32 KiB (first byte, one byte per 4 KiB page and the
 * last byte written; the tag is checked before free).  Thread-local
 * mid-size traffic.  Reports total replacements per second. */
#include "bench_common.h"
#include <pthread.h>

typedef struct {
    long iters, ws;
    uint64_t seed;
    pthread_t th;
} job_t;

static void touch(unsigned char *p, size_t n)
{
    for (size_t o = 4096; o < n; o += 4096) p[o] = (unsigned char)o;
}

static void *run(void *arg)
{
    job_t *j = arg;
    void **slot = calloc((size_t)j->ws, sizeof *slot);
    uint32_t *size = calloc((size_t)j->ws, sizeof *size);
    uint64_t *key = calloc((size_t)j->ws, sizeof *key);
    rng_t r;
    rng_seed(&r, j->seed);
    for (long i = 0; i < j->iters; i++) {
        uint64_t x = rng_next(&r);
        long s = (long)(x % (uint64_t)j->ws);
        if (slot[s]) {
            tag_check(slot[s], size[s], key[s], "mid_large_mt");
            free(slot[s]);
        }
        size_t sz = 8192 + (size_t)((x >> 32) % (32768 - 8192 + 1));
        unsigned char *p = xmalloc(sz);
        touch(p, sz);
        tag_set(p, sz, (uint64_t)i);
        slot[s] = p; size[s] = (uint32_t)sz; key[s] = (uint64_t)i;
    }
    for (long s = 0; s < j->ws; s++)
        if (slot[s]) { tag_check(slot[s], size[s], key[s], "mid_large_mt"); free(slot[s]); }
    free(slot); free(size); free(key);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: mid_large_mt THREADS ITERS WORKSET SEED\n");
        return 1;
    }
    long nt = arg_l(argc, argv, 1, 2), iters = arg_l(argc, argv, 2, 100000);
    long ws = arg_l(argc, argv, 3, 256);
    uint64_t seed = (uint64_t)arg_l(argc, argv, 4, 42);
    if (nt < 1 || iters < 1 || ws < 1) {
        fprintf(stderr, "mid_large_mt: bad arguments\n");
        return 1;
    }
    job_t *jobs = calloc((size_t)nt, sizeof *jobs);
    double t0 = now_s();
    for (long t = 0; t < nt; t++) {
        jobs[t] = (job_t){ iters, ws, seed * 1000003u + (uint64_t)t, 0 };
        if (pthread_create(&jobs[t].th, NULL, run, &jobs[t]) != 0) {
            fprintf(stderr, "mid_large_mt: pthread_create failed\n");
            return 1;
        }
    }
    for (long t = 0; t < nt; t++) pthread_join(jobs[t].th, NULL);
    double el = now_s() - t0;
    free(jobs);
    char extra[96];
    snprintf(extra, sizeof extra, "threads=%ld workset=%ld seconds=%.3f", nt, ws, el);
    result("mid_large_mt", "ops_per_s", (double)(nt * iters) / el, "higher", extra);
    return 0;
}
