/* larson SECONDS MIN MAX CHUNKS ROUNDS SEED THREADS
 * Paul Larson's server simulation (classic: 5 8 1000 5000 100 4141 N).
 * The main thread allocates every slot; THREADS workers then each own CHUNKS
 * slots and, CHUNKS*ROUNDS times, free a random slot and refill it with a
 * random size in [MIN, MAX).  A worker that finishes its rounds hands its
 * slots to a fresh replacement thread and exits, so blocks are constantly
 * freed by threads other than (and outliving) the one that allocated them.
 * After SECONDS the run stops; ops = slot replacements (one free + one
 * malloc), reported per second.  Every block is tagged and checked before it
 * is freed.  SECONDS may be fractional. */
#include "bench_common.h"
#include <pthread.h>

typedef struct {
    void **blk;
    uint32_t *size;
    uint64_t *key;
    long chunks, rounds;
    size_t min, max;
    rng_t rng;
    uint64_t keyctr;
    long ops, generations;
} area_t;

static atomic_int stop_flag;
static atomic_long live_threads;
static atomic_long spawn_failures;
static pthread_attr_t detached;

static void *worker(void *arg)
{
    area_t *a = arg;
    long n = a->chunks * a->rounds, ops = 0;
    size_t range = a->max - a->min;
    a->generations++;
    for (long i = 0; i < n; i++) {
        if (atomic_load_explicit(&stop_flag, memory_order_relaxed)) break;
        long v = (long)(rng_next(&a->rng) % (uint64_t)a->chunks);
        tag_check(a->blk[v], a->size[v], a->key[v], "larson");
        free(a->blk[v]);
        size_t sz = range ? a->min + (size_t)(rng_next(&a->rng) % range) : a->min;
        void *p = xmalloc(sz);
        uint64_t key = ++a->keyctr;
        tag_set(p, sz, key);
        a->blk[v] = p; a->size[v] = (uint32_t)sz; a->key[v] = key;
        ops++;
    }
    a->ops += ops;
    if (!atomic_load(&stop_flag)) {
        pthread_t t;
        atomic_fetch_add(&live_threads, 1);
        if (pthread_create(&t, &detached, worker, a) != 0) {
            atomic_fetch_add(&spawn_failures, 1);
            atomic_fetch_sub(&live_threads, 1);
        }
    }
    atomic_fetch_sub(&live_threads, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: larson SECONDS MIN MAX CHUNKS ROUNDS SEED THREADS\n");
        return 1;
    }
    double secs = arg_d(argc, argv, 1, 5);
    size_t min = (size_t)arg_l(argc, argv, 2, 8), max = (size_t)arg_l(argc, argv, 3, 1000);
    long chunks = arg_l(argc, argv, 4, 5000), rounds = arg_l(argc, argv, 5, 100);
    uint64_t seed = (uint64_t)arg_l(argc, argv, 6, 4141);
    long nthreads = arg_l(argc, argv, 7, 2);
    if (min < 1 || max < min || chunks < 1 || rounds < 1 || nthreads < 1) {
        fprintf(stderr, "larson: bad arguments\n");
        return 1;
    }
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);

    area_t *areas = calloc((size_t)nthreads, sizeof *areas);
    rng_t mr;
    rng_seed(&mr, seed);
    for (long t = 0; t < nthreads; t++) {
        area_t *a = &areas[t];
        a->chunks = chunks; a->rounds = rounds; a->min = min; a->max = max;
        a->blk = xmalloc((size_t)chunks * sizeof *a->blk);
        a->size = xmalloc((size_t)chunks * sizeof *a->size);
        a->key = xmalloc((size_t)chunks * sizeof *a->key);
        rng_seed(&a->rng, rng_next(&mr));
        a->keyctr = (uint64_t)(t + 1) << 40;
        /* warm-up: the main thread allocates every slot the workers start on */
        for (long i = 0; i < chunks; i++) {
            size_t sz = max > min ? min + (size_t)(rng_next(&mr) % (max - min)) : min;
            a->blk[i] = xmalloc(sz);
            a->size[i] = (uint32_t)sz;
            a->key[i] = ++a->keyctr;
            tag_set(a->blk[i], sz, a->key[i]);
        }
    }

    double t0 = now_s();
    for (long t = 0; t < nthreads; t++) {
        pthread_t th;
        atomic_fetch_add(&live_threads, 1);
        if (pthread_create(&th, &detached, worker, &areas[t]) != 0) {
            fprintf(stderr, "larson: pthread_create failed\n");
            return 1;
        }
    }
    struct timespec ts = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
    nanosleep(&ts, NULL);
    atomic_store(&stop_flag, 1);
    while (atomic_load(&live_threads) > 0) usleep(100);
    double el = now_s() - t0;

    long ops = 0, gens = 0;
    for (long t = 0; t < nthreads; t++) {
        area_t *a = &areas[t];
        ops += a->ops; gens += a->generations;
        for (long i = 0; i < chunks; i++) {
            tag_check(a->blk[i], a->size[i], a->key[i], "larson");
            free(a->blk[i]);
        }
        free(a->blk); free(a->size); free(a->key);
    }
    free(areas);
    char extra[160];
    snprintf(extra, sizeof extra, "threads=%ld thread_generations=%ld seconds=%.3f spawn_failures=%ld",
             nthreads, gens, el, atomic_load(&spawn_failures));
    result("larson", "ops_per_s", (double)ops / el, "higher", extra);
    return 0;
}
