/* Real threads hand blocks to each other: producers allocate and fill,
 * consumers verify and free (remote frees into the producers' heaps, which
 * drain and reuse the blocks), plus threads that exit while their blocks
 * live on (heap abandon / adopt).  Correctly synchronised, so TSan must not
 * report a race on a block reused through the allocator, and no other tool
 * may report anything. */
#include <pthread.h>
#include "st.h"

enum { PRODUCERS = 2, CONSUMERS = 2, PER = 30000, QCAP = 256 };

typedef struct { unsigned char *p; size_t n; unsigned seed; } item;
static item q[QCAP];
static unsigned qhead, qtail, producers_left = PRODUCERS;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nonempty = PTHREAD_COND_INITIALIZER, nonfull = PTHREAD_COND_INITIALIZER;

static size_t size_of(unsigned i) {
  unsigned k = i % 97;
  return k < 80 ? (size_t)(k * 13 + 1) : k < 95 ? (size_t)(k * 700) : (size_t)100000 + k;
}
static unsigned char pat(size_t i, unsigned seed) { return (unsigned char)(i * 7u + seed); }

static void *producer(void *arg) {
  unsigned id = (unsigned)(uintptr_t)arg;
  for (unsigned i = 0; i < PER; i++) {
    size_t n = size_of(i + id);
    unsigned char *p = st_launder(i % 5 == 0 ? calloc(1, n) : malloc(n));
    if (!p) ST_FAIL("malloc(%zu)", n);
    unsigned seed = id * 1000 + i;
    for (size_t k = 0; k < n; k += (n > 4096 ? 61 : 1)) p[k] = pat(k, seed);
    /* local churn too: reuse of blocks the consumers freed into this heap */
    void *t = malloc(size_of(i * 3)); memset(t, 1, size_of(i * 3)); free(t);
    pthread_mutex_lock(&mu);
    while (qtail - qhead == QCAP) pthread_cond_wait(&nonfull, &mu);
    q[qtail++ % QCAP] = (item){p, n, seed};
    pthread_cond_signal(&nonempty);
    pthread_mutex_unlock(&mu);
  }
  pthread_mutex_lock(&mu);
  producers_left--;
  pthread_cond_broadcast(&nonempty);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void *consumer(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&mu);
    while (qtail == qhead && producers_left) pthread_cond_wait(&nonempty, &mu);
    if (qtail == qhead) { pthread_mutex_unlock(&mu); return NULL; }
    item it = q[qhead++ % QCAP];
    pthread_cond_signal(&nonfull);
    pthread_mutex_unlock(&mu);
    for (size_t k = 0; k < it.n; k += (it.n > 4096 ? 61 : 1))
      if (it.p[k] != pat(k, it.seed)) ST_FAIL("block %p byte %zu corrupted", (void *)it.p, k);
    if (it.seed % 7 == 0) {                 /* realloc by a non-owner, then free */
      it.p = st_launder(realloc(it.p, it.n + 50));
      if (it.p[0] != pat(0, it.seed)) ST_FAIL("realloc lost contents");
    }
    free(it.p);
  }
}

/* Threads that allocate, hand their blocks to main and exit. */
static void *leaver(void *arg) {
  void **out = arg;
  for (int i = 0; i < 500; i++) { out[i] = malloc((size_t)i * 11 + 1); memset(out[i], i & 0xff, (size_t)i * 11 + 1); }
  return NULL;
}

int main(void) {
  pthread_t pt[PRODUCERS], ct[CONSUMERS];
  for (unsigned i = 0; i < CONSUMERS; i++) pthread_create(&ct[i], NULL, consumer, NULL);
  for (unsigned i = 0; i < PRODUCERS; i++) pthread_create(&pt[i], NULL, producer, (void *)(uintptr_t)i);
  for (unsigned i = 0; i < PRODUCERS; i++) pthread_join(pt[i], NULL);
  for (unsigned i = 0; i < CONSUMERS; i++) pthread_join(ct[i], NULL);
  for (int round = 0; round < 4; round++) {
    void *blocks[500];
    pthread_t t;
    pthread_create(&t, NULL, leaver, blocks);
    pthread_join(t, NULL);
    for (int i = 0; i < 500; i++) {
      unsigned char *c = blocks[i];
      if (c[(size_t)i * 11] != (unsigned char)(i & 0xff)) ST_FAIL("leaver block %d", i);
      free(c);                              /* frees into an abandoned / adopted heap */
    }
  }
  puts("clean_threads ok");
  return 0;
}
