/* thread_churn ROUNDS THREADS OBJS SEED [POOL]
 * mstress/mleak style.  ROUNDS times the main thread starts THREADS short-lived
 * threads and joins them.  Each thread allocates OBJS blocks (32 B - 1 KiB,
 * one in 64 up to 64 KiB), freeing some of its own as it goes, then swaps half
 * of what it still holds into random slots of a shared POOL (default 4096)
 * with an atomic exchange and frees whatever it displaced: blocks allocated
 * by threads that have already exited, or by a sibling still running.  The
 * pool keeps a bounded live set, so RSS should stay flat; growth from the
 * first quarter of the run to the end shows heaps abandoned by dead threads.
 * Reports total seconds (lower is better) and rss_growth_kb.  Sampled blocks
 * (see tag_sampled) carry their size and a tag, checked when freed. */
#include "bench_common.h"
#include <pthread.h>

static long objs;
static long pool_n;
static _Atomic(uint64_t *) *pool;

static uint64_t *make(rng_t *r)
{
    uint64_t x = rng_next(r);
    size_t sz = (x & 63) == 0 ? rng_range(r, 1024, 65536) : 32 + (size_t)((x >> 8) % 993);
    uint64_t *p = xmalloc(sz);
    if (!tag_sampled(p)) { *(unsigned char *)p = (unsigned char)sz; return p; }
    p[0] = sz;
    p[1] = tag_of(sz ^ (uintptr_t)p);
    ((unsigned char *)p)[sz - 1] = (unsigned char)sz;
    return p;
}

static void drop(uint64_t *p)
{
    if (!tag_sampled(p)) { free(p); return; }
    size_t sz = (size_t)p[0];
    if (sz < 32 || sz > 65536 || p[1] != tag_of(sz ^ (uintptr_t)p) ||
        ((unsigned char *)p)[sz - 1] != (unsigned char)sz) {
        fprintf(stderr, "bench thread_churn: CORRUPTION block %p (size field %zu)\n", (void *)p, sz);
        exit(2);
    }
    free(p);
}

static void *worker(void *arg)
{
    rng_t r;
    rng_seed(&r, (uint64_t)(uintptr_t)arg);
    uint64_t **mine = xmalloc((size_t)objs * sizeof *mine);
    long n = 0;
    for (long i = 0; i < objs; i++) {
        mine[n++] = make(&r);
        if ((rng_next(&r) & 3) == 0) {           /* local churn */
            long k = (long)(rng_next(&r) % (uint64_t)n);
            drop(mine[k]);
            mine[k] = mine[--n];
        }
    }
    for (long k = 0; k < n; k++) {
        if (k & 1) {
            long s = (long)(rng_next(&r) % (uint64_t)pool_n);
            uint64_t *old = atomic_exchange(&pool[s], mine[k]);
            if (old) drop(old);
        } else {
            drop(mine[k]);
        }
    }
    free(mine);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: thread_churn ROUNDS THREADS OBJS SEED [POOL]\n");
        return 1;
    }
    long rounds = arg_l(argc, argv, 1, 100), nt = arg_l(argc, argv, 2, 2);
    objs = arg_l(argc, argv, 3, 2000);
    uint64_t seed = (uint64_t)arg_l(argc, argv, 4, 42);
    pool_n = arg_l(argc, argv, 5, 4096);
    if (rounds < 1 || nt < 1 || objs < 1 || pool_n < 1) {
        fprintf(stderr, "thread_churn: bad arguments\n");
        return 1;
    }
    pool = calloc((size_t)pool_n, sizeof *pool);
    pthread_t *th = xmalloc((size_t)nt * sizeof *th);
    long warm_round = rounds / 4 > 0 ? rounds / 4 : 1, rss_warm = 0;
    double t0 = now_s();
    for (long rd = 0; rd < rounds; rd++) {
        for (long t = 0; t < nt; t++)
            if (pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)(seed * 7919u + (uint64_t)(rd * nt + t)))) {
                fprintf(stderr, "thread_churn: pthread_create failed\n");
                return 1;
            }
        for (long t = 0; t < nt; t++) pthread_join(th[t], NULL);
        if (rd + 1 == warm_round) rss_warm = cur_rss_kb();
    }
    double el = now_s() - t0;
    long rss_end = cur_rss_kb();
    for (long s = 0; s < pool_n; s++) {
        uint64_t *p = atomic_load(&pool[s]);
        if (p) drop(p);
    }
    free(pool); free(th);
    char extra[160];
    snprintf(extra, sizeof extra, "rss_growth_kb=%ld rss_warm_kb=%ld rss_end_kb=%ld threads_total=%ld",
             rss_end - rss_warm, rss_warm, rss_end, rounds * nt);
    result("thread_churn", "seconds", el, "lower", extra);
    return 0;
}
