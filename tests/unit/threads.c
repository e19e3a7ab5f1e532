/* Threads: cross-thread frees, threads exiting while others still free
 * their blocks (also while those frees are in flight), producer/consumer
 * content checks, and thread churn that must not grow the allocator's
 * footprint. */
#define T_SUITE "threads"
#include "t.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>

static size_t pick_size(uint64_t *seed) {
  uint64_t r = t_rand(seed);
  switch (r % 16) {
  case 0: return 1025 + (r >> 8) % (65536 - 1025);       /* mid */
  case 1: return (r >> 8) % 4 == 0 ? 65537 + (r >> 12) % 300000 : 1025 + (r >> 12) % 9000;
  default: return (r >> 8) % 1025;                        /* tiny */
  }
}

/* ---- 1. ring exchange: every thread frees blocks allocated by another ---- */
enum { NT = 4, PER = 3000 };
typedef struct { unsigned char *p; size_t n; unsigned seed; } blk;
static blk handoff[NT][PER];
static pthread_barrier_t bar;
static atomic_int ring_bad;

static void *ring_worker(void *arg) {
  int id = (int)(intptr_t)arg;
  uint64_t seed = 1000 + (uint64_t)id;
  for (int round = 0; round < 4; round++) {
    for (int i = 0; i < PER; i++) {
      size_t n = pick_size(&seed);
      blk *b = &handoff[id][i];
      b->p = malloc(n);
      b->n = n;
      b->seed = (unsigned)(id * 100000 + i + round);
      if (!b->p) { atomic_fetch_add(&ring_bad, 1); continue; }
      t_fill(b->p, n, b->seed);
    }
    pthread_barrier_wait(&bar);
    int from = (id + 1 + round % (NT - 1)) % NT;   /* never ourselves */
    for (int i = 0; i < PER; i++) {
      blk *b = &handoff[from][i];
      if (!b->p) continue;
      if (!t_verify(b->p, b->n, b->seed)) atomic_fetch_add(&ring_bad, 1);
      free(b->p);
      b->p = NULL;
    }
    pthread_barrier_wait(&bar);
  }
  return NULL;
}

static void t_cross_thread_free(void) {
  pthread_t th[NT];
  pthread_barrier_init(&bar, NULL, NT);
  for (int i = 0; i < NT; i++) pthread_create(&th[i], NULL, ring_worker, (void *)(intptr_t)i);
  for (int i = 0; i < NT; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&bar);
  CHECK(atomic_load(&ring_bad) == 0);
}

/* ---- 2. producers exit before consumers free their blocks ---------------- */
enum { ORPHANS = 20000 };
static blk orphan[ORPHANS];
static atomic_int orphan_bad;

static void *orphan_producer(void *arg) {
  int id = (int)(intptr_t)arg;
  uint64_t seed = 77 + (uint64_t)id;
  for (int i = id; i < ORPHANS; i += 2) {
    size_t n = pick_size(&seed);
    orphan[i].p = malloc(n);
    orphan[i].n = n;
    orphan[i].seed = (unsigned)i;
    if (orphan[i].p) t_fill(orphan[i].p, n, (unsigned)i);
    /* some churn so the thread cache holds something at exit */
    void *tmp = malloc(n / 2 + 1);
    free(tmp);
  }
  return NULL;   /* thread exit: heap abandoned with live blocks */
}

static void *orphan_consumer(void *arg) {
  int id = (int)(intptr_t)arg;
  for (int i = ORPHANS - 1 - id; i >= 0; i -= 3) {
    if (!orphan[i].p) { atomic_fetch_add(&orphan_bad, 1); continue; }
    if (!t_verify(orphan[i].p, orphan[i].n, orphan[i].seed)) atomic_fetch_add(&orphan_bad, 1);
    free(orphan[i].p);
    orphan[i].p = NULL;
    if (i % 7 == 0) { void *q = malloc(64); memset(q, 1, 64); free(q); }
  }
  return NULL;
}

static void t_free_after_owner_exit(void) {
  pthread_t th[3];
  for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, orphan_producer, (void *)(intptr_t)i);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  /* owners are gone; free from three new threads concurrently */
  for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, orphan_consumer, (void *)(intptr_t)i);
  for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
  CHECK(atomic_load(&orphan_bad) == 0);
  for (int i = 0; i < ORPHANS; i++) CHECK(orphan[i].p == NULL);
}

/* ---- 3. producer/consumer through a ring (HAKMEM bug #1 class) ----------- */
enum { QN = 1024 };
static _Atomic(unsigned char *) q_slots[QN];
static atomic_int pc_bad, pc_stop;

static void *pc_producer(void *arg) {
  (void)arg;
  uint64_t seed = 5;
  unsigned i = 0;
  while (!atomic_load(&pc_stop)) {
    size_t n = 16 + t_rand(&seed) % 200;
    unsigned char *p = malloc(n);
    if (!p) { atomic_fetch_add(&pc_bad, 1); continue; }
    memset(p, 'a' + (int)(n % 26), n);
    p[0] = (unsigned char)n;   /* length, tiny */
    unsigned char *expect = NULL;
    /* wait for a free slot */
    while (!atomic_compare_exchange_weak(&q_slots[i % QN], &expect, p)) {
      expect = NULL;
      if (atomic_load(&pc_stop)) { free(p); return NULL; }
      sched_yield();
    }
    i++;
    /* the producer also frees its own blocks */
    void *own = malloc(n);
    memset(own, 0, n);
    free(own);
  }
  return NULL;
}

static void *pc_consumer(void *arg) {
  (void)arg;
  unsigned i = 0;
  for (;;) {
    unsigned char *p = atomic_exchange(&q_slots[i % QN], NULL);
    if (!p) {
      if (atomic_load(&pc_stop) == 2) return NULL;
      sched_yield();
      continue;
    }
    size_t n = p[0];
    for (size_t k = 1; k < n; k++)
      if (p[k] != 'a' + (int)(n % 26)) { atomic_fetch_add(&pc_bad, 1); break; }
    free(p);
    i++;
  }
}

static void t_producer_consumer(void) {
  pthread_t pr, co;
  atomic_store(&pc_stop, 0);
  pthread_create(&pr, NULL, pc_producer, NULL);
  pthread_create(&co, NULL, pc_consumer, NULL);
  double t0 = t_now();
  while (t_now() - t0 < 1.0) usleep(10000);
  atomic_store(&pc_stop, 1);
  pthread_join(pr, NULL);
  atomic_store(&pc_stop, 2);
  pthread_join(co, NULL);
  for (int i = 0; i < QN; i++) {         /* leftovers in the ring */
    unsigned char *p = atomic_exchange(&q_slots[i], NULL);
    free(p);
  }
  CHECK(atomic_load(&pc_bad) == 0);
}

/* ---- 4. churn: create/exit threads, leave blocks behind, free them later -- */
enum { CHURN_KEEP = 200 };
static void *churn_worker(void *arg) {
  void **keep = arg;
  uint64_t seed = (uintptr_t)arg;
  void *tmp[64];
  for (int k = 0; k < 4; k++) {
    for (int i = 0; i < 64; i++) { size_t n = pick_size(&seed); tmp[i] = malloc(n); if (tmp[i] && n) *(char *)tmp[i] = 1; }
    for (int i = 0; i < 64; i++) free(tmp[i]);
  }
  for (int i = 0; i < CHURN_KEEP; i++) {
    keep[i] = malloc(1 + pick_size(&seed) % 2047);   /* >= the byte written */
    if (keep[i]) memset(keep[i], 3, 1);
  }
  return NULL;
}

static void t_churn_bounded(void) {
  enum { ROUNDS = 200, WARM = 20 };
  static void *kept[2][CHURN_KEEP];
  hak_stats warm, end, cur;
  memset(&warm, 0, sizeof warm);
  uint64_t max_seg = 0, max_mapped = 0, max_heaps = 0;
  for (int r = 0; r < ROUNDS; r++) {
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, churn_worker, kept[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++)
      for (int k = 0; k < CHURN_KEEP; k++) { free(kept[i][k]); kept[i][k] = NULL; }
    hak_stats_get(&cur);
    if (r == WARM) warm = cur;
    if (r >= WARM) {
      if (cur.segments > max_seg) max_seg = cur.segments;
      if (cur.mapped_bytes > max_mapped) max_mapped = cur.mapped_bytes;
      if (cur.heaps > max_heaps) max_heaps = cur.heaps;
    }
  }
  hak_stats_get(&end);
  t_say("  churn: after %d rounds segments %llu mapped %llu KiB heaps %llu; after %d rounds segments %llu (max %llu) mapped %llu KiB (max %llu) heaps %llu (max %llu)\n",
        WARM, (unsigned long long)warm.segments, (unsigned long long)warm.mapped_bytes >> 10,
        (unsigned long long)warm.heaps, ROUNDS, (unsigned long long)end.segments,
        (unsigned long long)max_seg, (unsigned long long)end.mapped_bytes >> 10,
        (unsigned long long)max_mapped >> 10, (unsigned long long)end.heaps, (unsigned long long)max_heaps);
  CHECK(max_seg <= warm.segments + 8);
  CHECK(max_mapped <= warm.mapped_bytes + (64u << 20));
  CHECK(max_heaps <= warm.heaps + 4);
  CHECK(end.segments <= warm.segments + 4);
}

/* ---- 5. many threads at once, all sizes, random cross frees --------------- */
enum { MT = 8, SLOTS = 4096 };
static _Atomic(unsigned char *) shared_slots[SLOTS];
static atomic_int mt_bad;

static void *mixed_worker(void *arg) {
  uint64_t seed = 9000 + (uintptr_t)arg;
  for (int i = 0; i < 40000; i++) {
    unsigned s = (unsigned)(t_rand(&seed) % SLOTS);
    size_t n = pick_size(&seed);
    if (n < 2) n = 2;
    unsigned char *p = malloc(n);
    if (!p) { atomic_fetch_add(&mt_bad, 1); continue; }
    /* store size class hint + checksum in the block itself */
    size_t m = n < 64 ? n : 64;
    p[0] = (unsigned char)m;
    memset(p + 1, (int)(m * 3), m - 1);
    unsigned char *old = atomic_exchange(&shared_slots[s], p);
    if (old) {
      size_t om = old[0];
      for (size_t k = 1; k < om; k++)
        if (old[k] != (unsigned char)(om * 3)) { atomic_fetch_add(&mt_bad, 1); break; }
      if (i & 1) free(old);
      else old = realloc(old, om + (i % 3000)), free(old);
    }
  }
  return NULL;
}

static void t_mixed_many_threads(void) {
  pthread_t th[MT];
  for (int i = 0; i < MT; i++) pthread_create(&th[i], NULL, mixed_worker, (void *)(intptr_t)i);
  for (int i = 0; i < MT; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < SLOTS; i++) free(atomic_exchange(&shared_slots[i], NULL));
  CHECK(atomic_load(&mt_bad) == 0);
}

/* ---- 6. the owner exits while remote frees into its heap are in flight ---
 * Each round an owner thread allocates EXIT_N blocks and publishes them;
 * three freer threads start freeing them at once (remote path: pushes onto
 * the owner's queue), and the owner exits after freeing a few of its own,
 * so its heap is abandoned (cache flushed, queue drained) while pushes are
 * still arriving.  The rest lands on the queue of an abandoned heap.  After
 * the round the blocks' memory must be reusable and, at the end, the
 * checker (run after every test) must find every heap consistent. */
enum { EXIT_N = 6000, EXIT_ROUNDS = 40, EXIT_FREERS = 3 };
static blk exit_blk[EXIT_N];
static atomic_int exit_next, exit_bad, exit_go;

static void *exit_owner(void *arg) {
  uint64_t seed = 4242 + (uintptr_t)arg;
  for (int i = 0; i < EXIT_N; i++) {
    size_t n = pick_size(&seed);
    exit_blk[i].p = malloc(n);
    exit_blk[i].n = n;
    exit_blk[i].seed = (unsigned)(i + (int)(uintptr_t)arg);
    if (!exit_blk[i].p) { atomic_fetch_add(&exit_bad, 1); continue; }
    t_fill(exit_blk[i].p, n, exit_blk[i].seed);
  }
  atomic_store(&exit_go, 1);                 /* freers start now ... */
  for (int k = 0; k < 200; k++) {            /* ... while the owner churns ... */
    void *q = malloc(64 + (size_t)k);
    free(q);
  }
  return NULL;                                /* ... and exits mid-stream */
}

static void *exit_freer(void *arg) {
  (void)arg;
  while (!atomic_load(&exit_go)) sched_yield();
  for (;;) {
    int i = atomic_fetch_add(&exit_next, 1);
    if (i >= EXIT_N) return NULL;
    if (!exit_blk[i].p) continue;
    if (!t_verify(exit_blk[i].p, exit_blk[i].n, exit_blk[i].seed)) atomic_fetch_add(&exit_bad, 1);
    free(exit_blk[i].p);
    exit_blk[i].p = NULL;
  }
}

static void t_owner_exits_during_remote_frees(void) {
  hak_stats s0, s1;
  for (int r = 0; r < EXIT_ROUNDS; r++) {
    atomic_store(&exit_next, 0);
    atomic_store(&exit_go, 0);
    pthread_t own, fr[EXIT_FREERS];
    for (int i = 0; i < EXIT_FREERS; i++) pthread_create(&fr[i], NULL, exit_freer, NULL);
    pthread_create(&own, NULL, exit_owner, (void *)(intptr_t)r);
    pthread_join(own, NULL);
    for (int i = 0; i < EXIT_FREERS; i++) pthread_join(fr[i], NULL);
    if (r == 4) hak_stats_get(&s0);
  }
  hak_stats_get(&s1);
  CHECK(atomic_load(&exit_bad) == 0);
  for (int i = 0; i < EXIT_N; i++) CHECK(exit_blk[i].p == NULL);
  /* Abandoned heaps are adopted and their memory reused: no growth per round. */
  t_say("  owner exit during remote frees: %d rounds, segments %llu -> %llu, heaps %llu -> %llu\n", EXIT_ROUNDS,
        (unsigned long long)s0.segments, (unsigned long long)s1.segments, (unsigned long long)s0.heaps,
        (unsigned long long)s1.heaps);
  CHECK(s1.segments <= s0.segments + 8);
  CHECK(s1.heaps <= s0.heaps + 4);
}

int main(void) {
  t_init(150);
  T_RUN(t_owner_exits_during_remote_frees);
  T_RUN(t_cross_thread_free);
  T_RUN(t_free_after_owner_exit);
  T_RUN(t_producer_consumer);
  T_RUN(t_mixed_many_threads);
  T_RUN(t_churn_bounded);
  return t_done();
}
