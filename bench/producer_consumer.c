/* producer_consumer COUNT MAXSIZE SEED
 * xmalloc-test style: one producer thread allocates COUNT blocks of random
 * sizes in [16, MAXSIZE] and hands them, in batches of 256 through a bounded
 * single-producer/single-consumer ring (64 batches), to a consumer thread
 * that checks and frees them.  Every free is a cross-thread free.  Reports
 * millions of frees per second. */
#include "bench_common.h"
#include <pthread.h>
#include <sched.h>

#define BATCH 256
#define RING 64

typedef struct {
    void *p[BATCH];
    uint32_t size[BATCH];
    int n;
} batch_t;

static batch_t ring[RING];
static _Alignas(64) atomic_long head;   /* batches published by the producer */
static _Alignas(64) atomic_long tail;   /* batches consumed */
static long count;
static size_t maxsz;
static uint64_t seed;

static void wait_pause(unsigned *spins)
{
    if (++*spins < 64) __builtin_ia32_pause();
    else { sched_yield(); *spins = 0; }
}

static void *producer(void *arg)
{
    (void)arg;
    rng_t r;
    rng_seed(&r, seed);
    long made = 0, h = 0;
    while (made < count) {
        unsigned spins = 0;
        while (h - atomic_load_explicit(&tail, memory_order_acquire) >= RING) wait_pause(&spins);
        batch_t *b = &ring[h % RING];
        int n = count - made < BATCH ? (int)(count - made) : BATCH;
        for (int i = 0; i < n; i++) {
            size_t sz = rng_range(&r, 16, maxsz);
            void *p = xmalloc(sz);
            tag_set(p, sz, (uint64_t)(made + i));
            b->p[i] = p; b->size[i] = (uint32_t)sz;
        }
        b->n = n;
        made += n;
        atomic_store_explicit(&head, ++h, memory_order_release);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    long freed = 0, t = 0;
    while (freed < count) {
        unsigned spins = 0;
        while (atomic_load_explicit(&head, memory_order_acquire) == t) wait_pause(&spins);
        batch_t *b = &ring[t % RING];
        for (int i = 0; i < b->n; i++) {
            tag_check(b->p[i], b->size[i], (uint64_t)(freed + i), "producer_consumer");
            free(b->p[i]);
        }
        freed += b->n;
        atomic_store_explicit(&tail, ++t, memory_order_release);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: producer_consumer COUNT MAXSIZE SEED\n");
        return 1;
    }
    count = arg_l(argc, argv, 1, 1000000);
    maxsz = (size_t)arg_l(argc, argv, 2, 256);
    seed = (uint64_t)arg_l(argc, argv, 3, 42);
    if (count < 1 || maxsz < 16) {
        fprintf(stderr, "producer_consumer: bad arguments\n");
        return 1;
    }
    pthread_t pt, ct;
    double t0 = now_s();
    if (pthread_create(&ct, NULL, consumer, NULL) || pthread_create(&pt, NULL, producer, NULL)) {
        fprintf(stderr, "producer_consumer: pthread_create failed\n");
        return 1;
    }
    pthread_join(pt, NULL);
    pthread_join(ct, NULL);
    double el = now_s() - t0;
    char extra[96];
    snprintf(extra, sizeof extra, "count=%ld maxsize=%zu seconds=%.3f", count, maxsz, el);
    result("producer_consumer", "Mfree_per_s", (double)count / el / 1e6, "higher", extra);
    return 0;
}
