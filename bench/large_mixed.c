/* large_mixed THREADS ITERS LIVE SEED
 * Large blocks of mixed sizes, as issue 19 found them: each thread keeps
 * LIVE slots and ITERS times replaces a random one with a block of a size
 * uniform in [64 KiB, 8 MiB], touched at its start, middle and end (so the
 * cost measured is the allocator's: maps, faults, cache misses, not
 * memset).  An allocator that keys its cache by exact size misses almost
 * always here.  Tags are checked before every free.  Reports total
 * replacements per second. */
#include "bench_common.h"
#include <pthread.h>

#define MIN_SZ ((size_t)64 << 10)
#define MAX_SZ ((size_t)8 << 20)

typedef struct {
    long iters, live;
    uint64_t seed;
    pthread_t th;
} job_t;

static void *run(void *arg)
{
    job_t *j = arg;
    unsigned char **slot = calloc((size_t)j->live, sizeof *slot);
    size_t *size = calloc((size_t)j->live, sizeof *size);
    uint64_t *key = calloc((size_t)j->live, sizeof *key);
    rng_t r;
    rng_seed(&r, j->seed);
    for (long i = 0; i < j->iters; i++) {
        long s = (long)(rng_next(&r) % (uint64_t)j->live);
        size_t sz = rng_range(&r, MIN_SZ, MAX_SZ);
        if (slot[s]) {
            tag_check(slot[s], size[s], key[s], "large_mixed");
            free(slot[s]);
        }
        unsigned char *p = xmalloc(sz);
        p[sz / 2] = (unsigned char)i;
        tag_set(p, sz, (uint64_t)i);   /* start and end */
        slot[s] = p; size[s] = sz; key[s] = (uint64_t)i;
    }
    for (long s = 0; s < j->live; s++)
        if (slot[s]) { tag_check(slot[s], size[s], key[s], "large_mixed"); free(slot[s]); }
    free(slot); free(size); free(key);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: large_mixed THREADS ITERS LIVE SEED\n");
        return 1;
    }
    long nt = arg_l(argc, argv, 1, 1), iters = arg_l(argc, argv, 2, 1000), live = arg_l(argc, argv, 3, 16);
    uint64_t seed = (uint64_t)arg_l(argc, argv, 4, 1);
    if (nt < 1 || nt > 64 || iters < 1 || live < 1) {
        fprintf(stderr, "large_mixed: bad arguments\n");
        return 1;
    }
    bench_every = 1;   /* one 8-byte read per free among page-sized blocks: always check */
    job_t *jobs = calloc((size_t)nt, sizeof *jobs);
    double t0 = now_s();
    for (long t = 0; t < nt; t++) {
        jobs[t] = (job_t){ iters, live, seed * 1000003u + (uint64_t)t, 0 };
        if (pthread_create(&jobs[t].th, NULL, run, &jobs[t]) != 0) { fprintf(stderr, "large_mixed: pthread_create\n"); return 3; }
    }
    for (long t = 0; t < nt; t++) pthread_join(jobs[t].th, NULL);
    double el = now_s() - t0;
    char extra[96];
    snprintf(extra, sizeof extra, "threads=%ld live=%ld seconds=%.3f", nt, live, el);
    result("large_mixed", "ops_per_s", (double)(iters * nt) / el, "higher", extra);
    free(jobs);
    return 0;
}
