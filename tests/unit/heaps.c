/* Explicit heaps (hakmem_debug.h): remote frees between heaps, draining,
 * abandon/adopt, destroy, classification and block states. */
#define T_SUITE "heaps"
#include "t.h"

#include <malloc.h>
#include <sys/mman.h>

static int global_arr[256];
static char msg[512];

#define HEAP_OK(h) CHECKF(hak_heap_check((h), msg, sizeof msg) == 0, "hak_heap_check(%u): %s", hak_heap_id(h), msg)
#define ALL_OK()   CHECKF(hak_check_all(msg, sizeof msg) == 0, "hak_check_all: %s", msg)

static int in_set(void *p, void **set, int n) {
  for (int i = 0; i < n; i++) if (set[i] == p) return 1;
  return 0;
}

/* count blocks of class cls in heap h, per state */
struct vcount { int cls; int n; int by_state[8]; };
static void count_fn(void *arg, void *block, size_t usable, int cls, int state) {
  (void)block; (void)usable;
  struct vcount *v = arg;
  if (cls != v->cls) return;
  v->n++;
  if (state >= 0 && state < 8) v->by_state[state]++;
}

static void t_new_and_ids(void) {
  hak_heap *a = hak_heap_new(), *b = hak_heap_new();
  REQUIRE(a && b);
  CHECK(a != b);
  CHECK(hak_heap_id(a) != hak_heap_id(b));
  CHECK(hak_heap_current() != NULL);
  CHECK(hak_heap_current() != a && hak_heap_current() != b);
  CHECK(hak_heap_current() == hak_heap_current());
  HEAP_OK(a);
  HEAP_OK(b);
  hak_heap_destroy(a);
  hak_heap_destroy(b);
}

static void t_remote_free_and_drain(void) {
  enum { N = 300 };
  hak_heap *a = hak_heap_new(), *b = hak_heap_new();
  REQUIRE(a && b);
  void *p[N], *keep = hak_heap_malloc(a, 64);   /* keeps the slab alive */
  for (int i = 0; i < N; i++) {
    p[i] = hak_heap_malloc(a, 64);
    REQUIRE(p[i] != NULL);
    memset(p[i], 0x61, 64);
    hak_block_info bi;
    CHECK(hak_classify(p[i], &bi) == 1 && bi.owner == a && bi.block == p[i]);
    CHECK(hak_block_state(p[i]) == HAK_BLOCK_LIVE);
  }
  for (int i = 0; i < N; i++) hak_heap_free(b, p[i]);          /* remote: b does not own them */
  int remote = 0;
  for (int i = 0; i < N; i++) remote += hak_block_state(p[i]) == HAK_BLOCK_REMOTE;
  CHECKF(remote == N, "%d of %d blocks REMOTE after remote free", remote, N);
  HEAP_OK(a);
  HEAP_OK(b);
  hak_heap_drain(a);
  int freed = 0;
  for (int i = 0; i < N; i++) freed += hak_block_state(p[i]) == HAK_BLOCK_FREE;
  CHECKF(freed == N, "%d of %d blocks FREE after drain", freed, N);
  HEAP_OK(a);
  /* reuse: allocating every block of the class in a must hand out all of them */
  struct vcount v = {hak_size_class(64), 0, {0}};
  hak_heap_visit(a, count_fn, &v);
  CHECK(v.n >= N + 1);
  CHECK(v.by_state[HAK_BLOCK_LIVE] == 1);
  struct vcount lv = {hak_size_class(64), 0, {0}};
  hak_heap_visit_live(a, count_fn, &lv);   /* only `keep`: no call for free or uncarved blocks */
  CHECK(lv.n == 1 && lv.by_state[HAK_BLOCK_LIVE] == 1);
  int total = v.n - 1, reused = 0;
  void **q = malloc(sizeof(void *) * (size_t)total);
  REQUIRE(q != NULL);
  for (int i = 0; i < total; i++) {
    q[i] = hak_heap_malloc(a, 64);
    if (in_set(q[i], p, N)) reused++;
    CHECK(q[i] != keep);
  }
  CHECKF(reused == N, "only %d of %d drained blocks reused after %d allocations", reused, N, total);
  /* the data written while live survived the remote path only where not
   * reused: nothing to check; now free locally */
  for (int i = 0; i < total; i++) hak_heap_free(a, q[i]);
  hak_heap_free(a, keep);
  free(q);
  HEAP_OK(a);
  hak_heap_destroy(a);
  hak_heap_destroy(b);
  ALL_OK();
}

/* Slab of a tiny or mid block: tiny slabs are 64 KiB, mid slabs 256 KiB,
 * both aligned to their size (segments are 2 MiB-aligned). */
static uintptr_t slab_id(const void *p, size_t n) {
  return (uintptr_t)p >> (n <= HAK_TINY_MAX ? 16 : 18);
}

static void t_block_states(void) {
  hak_heap *a = hak_heap_new(), *b = hak_heap_new();
  REQUIRE(a && b);
  static const size_t sizes[] = {16, 256, 1024, 3000, 40000};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    /* x, y and an anchor from the same slab: the anchor stays live, so the
     * slab is never released and x, y stay block starts */
    enum { K = 24 };
    void *blk[K];
    for (int k = 0; k < K; k++) REQUIRE((blk[k] = hak_heap_malloc(a, n)) != NULL);
    int xi = -1, yi = -1, ai = -1;
    for (int k = 0; k < K && ai < 0; k++)
      for (int j = k + 1; j < K && ai < 0; j++)
        for (int m = j + 1; m < K && ai < 0; m++)
          if (slab_id(blk[k], n) == slab_id(blk[j], n) && slab_id(blk[k], n) == slab_id(blk[m], n))
            xi = k, yi = j, ai = m;
    REQUIRE(ai >= 0);
    void *x = blk[xi], *y = blk[yi], *anchor = blk[ai];
    for (int k = 0; k < K; k++) CHECK(hak_block_state(blk[k]) == HAK_BLOCK_LIVE);
    hak_heap_free(a, x);                      /* local free: cache (or slab) */
    int s = hak_block_state(x);
    CHECKF(s == HAK_BLOCK_CACHED || s == HAK_BLOCK_FREE, "size %zu local free: state %d", n, s);
    hak_heap_collect(a);                       /* flush the cache */
    s = hak_block_state(x);
    CHECKF(s == HAK_BLOCK_FREE, "size %zu after collect: state %d", n, s);
    hak_heap_free(b, y);                      /* remote */
    CHECKF(hak_block_state(y) == HAK_BLOCK_REMOTE, "size %zu remote: state %d", n, hak_block_state(y));
    HEAP_OK(a);
    hak_heap_drain(a);
    CHECKF(hak_block_state(y) == HAK_BLOCK_FREE, "size %zu drained: state %d", n, hak_block_state(y));
    CHECK(hak_block_state(anchor) == HAK_BLOCK_LIVE);
    /* not block starts */
    CHECK(hak_block_state((char *)anchor + 8) == -1);
    for (int k = 0; k < K; k++) if (k != xi && k != yi) hak_heap_free(a, blk[k]);
    HEAP_OK(a);
  }
  /* large */
  void *l = hak_heap_malloc(a, 500000);
  CHECK(hak_block_state(l) == HAK_BLOCK_LIVE);
  hak_heap_free(a, l);
  int s = hak_block_state(l);
  CHECK(s == HAK_BLOCK_BIGCACHE || s == -1);
  int x;
  CHECK(hak_block_state(&x) == -1);
  CHECK(hak_block_state(NULL) == -1);
  hak_heap_destroy(a);
  hak_heap_destroy(b);
}

static void t_classify(void) {
  hak_block_info bi;
  static const size_t sizes[] = {1, 100, 1024, 1025, 30000, 65536, 65537, 1 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    char *p = malloc(n);
    REQUIRE(p != NULL);
    memset(&bi, 0x55, sizeof bi);
    CHECK(hak_classify(p, &bi) == 1);
    CHECK(bi.block == p && bi.interior == 0 && bi.usable >= n && bi.usable == malloc_usable_size(p));
    if (n > HAK_MID_MAX) CHECK(bi.tier == HAK_TIER_LARGE && bi.cls == -1 && bi.owner == NULL);
    else CHECK(bi.cls == hak_size_class(n) && bi.owner == hak_heap_current() &&
               bi.tier == (n <= HAK_TINY_MAX ? HAK_TIER_TINY : HAK_TIER_MID));
    if (n > 1) {
      CHECK(hak_classify(p + n - 1, &bi) == 1);
      CHECK(bi.block == p && bi.interior == 1);
    }
    free(p);
  }
  int local = 0;
  CHECK(hak_classify(&local, &bi) == 0);
  CHECK(hak_classify(global_arr + 10, &bi) == 0);
  CHECK(hak_classify((void *)t_classify, &bi) == 0);
  CHECK(hak_classify(NULL, &bi) == 0);
  CHECK(hak_classify((void *)(uintptr_t)0x1000, &bi) == 0);
  CHECK(hak_classify((void *)~(uintptr_t)0xf, &bi) == 0);
  /* a foreign mapping, inaccessible, aligned to 2 MiB: classification must
   * not touch it (PROT_NONE would fault) */
  size_t len = 8u << 20;
  char *m = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  REQUIRE(m != MAP_FAILED);
  char *al = (char *)(((uintptr_t)m + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
  for (size_t off = 0; off < (4u << 20); off += 65536 - 16) CHECK(hak_classify(al + off, &bi) == 0);
  CHECK(hak_block_state(al) == -1);
  munmap(m, len);
}

static void t_abandon_adopt(void) {
  enum { N = 100 };
  CHECK(hak_heap_adopt() == NULL);          /* nothing abandoned yet */
  hak_heap *a = hak_heap_new(), *b = hak_heap_new();
  REQUIRE(a && b);
  void *p[N];
  size_t sz[N];
  for (int i = 0; i < N; i++) {
    sz[i] = (size_t)(i * 977) % 70000 + 1;
    p[i] = hak_heap_malloc(a, sz[i]);
    REQUIRE(p[i] != NULL);
    t_fill(p[i], sz[i], (unsigned)i);
  }
  /* some freed locally (go to a's cache), some remotely (a's queue) */
  for (int i = 0; i < N; i += 4) { hak_heap_free(a, p[i]); p[i] = NULL; }
  for (int i = 1; i < N; i += 4) { hak_heap_free(b, p[i]); p[i] = NULL; }
  hak_stats s0, s1;
  hak_stats_get(&s0);
  hak_heap_abandon(a);
  hak_stats_get(&s1);
  CHECK(s1.heaps_abandoned == s0.heaps_abandoned + 1);
  /* blocks of an abandoned heap: still live, freed remotely */
  for (int i = 0; i < N; i++) if (p[i]) CHECK(hak_block_state(p[i]) == HAK_BLOCK_LIVE);
  for (int i = 2; i < N; i += 4) { CHECK(t_verify(p[i], sz[i], (unsigned)i)); hak_heap_free(b, p[i]); p[i] = NULL; }
  ALL_OK();
  hak_heap *c = hak_heap_adopt();
  CHECK(c == a);
  CHECK(hak_heap_adopt() == NULL);
  if (!c) c = a;
  HEAP_OK(c);
  for (int i = 0; i < N; i++) if (p[i]) {
    CHECK(t_verify(p[i], sz[i], (unsigned)i));
    hak_block_info bi;
    CHECK(hak_classify(p[i], &bi) == 1);
    if (sz[i] <= HAK_MID_MAX) CHECK(bi.owner == c);
    hak_heap_free(c, p[i]);
  }
  hak_heap_collect(c);
  HEAP_OK(c);
  hak_heap_destroy(c);
  hak_heap_destroy(b);
  ALL_OK();
}

/* A block the program freed is not LIVE in the heap abandoned after it.
 * ASan builds park plain frees in a quarantine (src/quarantine.c), where
 * the core still counts them live; hak_heap_abandon flushes it as thread
 * exit does (fuzz/mt's pooled threads abandon explicitly and reported
 * such blocks as lost frees).  Trivial in other builds: the gate's ASan
 * run of this suite is the one that can go red. */
static void t_abandon_after_free(void) {
  hak_heap *h = hak_heap_new();
  REQUIRE(h);
  hak_heap *prev = hak_heap_bind(h);
  void *p = hak_malloc(100);
  REQUIRE(p);
  hak_free(p);
  hak_heap_bind(prev);
  hak_heap_abandon(h);
  CHECK(hak_block_state(p) != HAK_BLOCK_LIVE);
  hak_heap *c = hak_heap_adopt();
  CHECK(c == h);
  hak_heap_destroy(c ? c : h);
}

static void t_destroy_with_live_blocks(void) {
  hak_stats s0, s1, base, s2;
  hak_trim();
  hak_stats_get(&s0);
  for (int r = 0; r < 20; r++) {
    hak_heap *h = hak_heap_new();
    REQUIRE(h != NULL);
    /* tiny and mid blocks left live: destroy releases them.  (Large blocks
     * have no owner heap, so they are not the heap's to release.) */
    for (int i = 0; i < 2000; i++) {
      void *p = hak_heap_malloc(h, 8 + (size_t)(i * 37) % (HAK_MID_MAX - 7));   /* >= the 8 bytes written */
      REQUIRE(p != NULL);
      memset(p, 1, 8);
    }
    void *c = hak_heap_calloc(h, 100, 10);
    CHECK(c && t_all_zero(c, 1000));
    c = hak_heap_realloc(h, c, 5000);
    CHECK(c && t_all_zero(c, 1000));
    void *al = hak_heap_aligned_alloc(h, 4096, 4096);
    CHECK(al && t_aligned(al, 4096));
    hak_block_info bi;
    CHECK(hak_classify(al, &bi) == 1 && bi.owner == h);
    HEAP_OK(h);
    if (r == 0) hak_stats_get(&s1);
    hak_heap_destroy(h);                /* releases the live blocks too */
    CHECK(hak_classify(al, &bi) == 0 || bi.owner != h || hak_block_state(al) != HAK_BLOCK_LIVE);
    hak_trim();
    /* the first round maps one-time metadata (heap object, descriptor
     * pools, address-map leaves): later rounds must not grow (much) */
    if (r == 0) hak_stats_get(&base);
  }
  hak_stats_get(&s2);
  t_say("  segments: before %llu, one heap %llu, after 20 destroys %llu; mapped %llu -> %llu -> %llu KiB\n",
        (unsigned long long)s0.segments, (unsigned long long)s1.segments, (unsigned long long)s2.segments,
        (unsigned long long)s0.mapped_bytes >> 10, (unsigned long long)base.mapped_bytes >> 10,
        (unsigned long long)s2.mapped_bytes >> 10);
  CHECK(s1.segments > s0.segments);
  CHECK(s2.segments <= s0.segments);
  /* slack for a few 64 KiB metadata chunks (descriptor pools, map leaves);
   * a leaked segment (2 MiB) or heap object would exceed it */
  CHECK(s2.mapped_bytes <= base.mapped_bytes + (256u << 10));
  CHECK(base.mapped_bytes <= s0.mapped_bytes + (4u << 20));
  CHECK(s2.heaps <= s0.heaps);
  ALL_OK();
}

static void t_bind(void) {
  hak_heap *h = hak_heap_new();
  REQUIRE(h != NULL);
  hak_heap *prev = hak_heap_bind(h);
  CHECK(prev != NULL && prev != h);
  CHECK(hak_heap_current() == h);
  void *p = malloc(100);                      /* plain malloc goes to h now */
  hak_block_info bi;
  CHECK(hak_classify(p, &bi) == 1 && bi.owner == h);
  hak_heap *back = hak_heap_bind(prev);
  CHECK(back == h);
  CHECK(hak_heap_current() == prev);
  free(p);                                    /* remote free into h */
  CHECK(hak_block_state(p) == HAK_BLOCK_REMOTE);
  hak_heap_drain(h);
  CHECK(hak_block_state(p) == HAK_BLOCK_FREE || hak_block_state(p) == -1);
  HEAP_OK(h);
  hak_heap_destroy(h);
}

static void t_collect_releases(void) {
  hak_heap *h = hak_heap_new();
  REQUIRE(h != NULL);
  hak_stats s0, s1, s2;
  hak_stats_get(&s0);
  enum { N = 20000 };
  void **p = malloc(sizeof(void *) * N);
  for (int i = 0; i < N; i++) p[i] = hak_heap_malloc(h, (size_t)(16 + (i % 50) * 16));
  hak_stats_get(&s1);
  for (int i = 0; i < N; i++) hak_heap_free(h, p[i]);
  free(p);
  hak_heap_collect(h);
  hak_trim();
  hak_stats_get(&s2);
  CHECK(s1.segments > s0.segments);
  CHECKF(s2.segments <= s0.segments, "segments %llu -> %llu -> %llu", (unsigned long long)s0.segments,
         (unsigned long long)s1.segments, (unsigned long long)s2.segments);
  struct vcount v = {hak_size_class(16), 0, {0}};
  hak_heap_visit(h, count_fn, &v);
  CHECK(v.by_state[HAK_BLOCK_LIVE] == 0 && v.by_state[HAK_BLOCK_CACHED] == 0);
  HEAP_OK(h);
  hak_heap_destroy(h);
}

static void t_debug_reset(void) {
  hak_heap *h = hak_heap_new();
  for (int i = 0; i < 100; i++) hak_heap_malloc(h, 100);
  hak_heap_abandon(h);
  void *p = malloc(77);                        /* our own heap survives */
  hak_debug_reset();
  ALL_OK();
  CHECK(hak_heap_adopt() == NULL);
  void *q = malloc(77);
  CHECK(q != NULL);
  free(q);
  (void)p;  /* p belonged to our bound heap: still valid */
  CHECK(hak_block_state(p) == HAK_BLOCK_LIVE);
  free(p);
}

/* HAKMEM bug #1 class, deterministically: heap a allocates and writes,
 * heap b frees some of a's blocks remotely, a keeps allocating (which
 * drains its queue) and freeing.  A live block is never handed out twice
 * and its contents are never overwritten by the allocator. */
static int cmp_ptr(const void *x, const void *y) {
  uintptr_t a = *(const uintptr_t *)x, b = *(const uintptr_t *)y;
  return a < b ? -1 : a > b;
}

static void t_remote_interleaving(void) {
  enum { SLOTS = 1500, STEPS = 60000 };
  static unsigned char *live[SLOTS];
  static size_t len[SLOTS];
  static uintptr_t sorted[SLOTS];
  hak_heap *a = hak_heap_new(), *b = hak_heap_new();
  REQUIRE(a && b);
  uint64_t seed = 2024;
  int corrupt = 0, dup = 0, nulls = 0;
  for (int step = 0; step < STEPS; step++) {
    uint64_t r = t_rand(&seed);
    unsigned i = (unsigned)(r % SLOTS);
    if (live[i]) {
      if (!t_verify(live[i], len[i], i * 7u + (unsigned)len[i])) corrupt++;
      switch ((r >> 20) % 4) {
      case 0: case 1: hak_heap_free(b, live[i]); break;   /* remote */
      case 2: hak_heap_free(a, live[i]); break;           /* local */
      default: if ((r >> 30) % 50 == 0) hak_heap_drain(a);
               hak_heap_free(b, live[i]); break;
      }
      live[i] = NULL;
    } else {
      size_t n = (r >> 24) % 16 == 0 ? 1025 + (r >> 32) % 20000 : 1 + (r >> 32) % 300;
      live[i] = hak_heap_malloc(a, n);
      if (!live[i]) { nulls++; continue; }
      len[i] = n;
      t_fill(live[i], n, i * 7u + (unsigned)n);
    }
    if (step % 5000 == 4999) {
      int k = 0;
      for (int j = 0; j < SLOTS; j++) if (live[j]) sorted[k++] = (uintptr_t)live[j];
      qsort(sorted, (size_t)k, sizeof sorted[0], cmp_ptr);
      for (int j = 1; j < k; j++) if (sorted[j] == sorted[j - 1]) dup++;
      HEAP_OK(a);
      HEAP_OK(b);
    }
  }
  CHECK(corrupt == 0);
  CHECK(dup == 0);
  CHECK(nulls == 0);
  for (int j = 0; j < SLOTS; j++) {
    if (live[j]) {
      CHECK(t_verify(live[j], len[j], j * 7u + (unsigned)len[j]));
      hak_heap_free(b, live[j]);
      live[j] = NULL;
    }
  }
  hak_heap_collect(a);
  HEAP_OK(a);
  struct vcount v = {hak_size_class(64), 0, {0}};
  hak_heap_visit(a, count_fn, &v);
  CHECK(v.by_state[HAK_BLOCK_LIVE] == 0 && v.by_state[HAK_BLOCK_REMOTE] == 0);
  hak_heap_destroy(a);
  hak_heap_destroy(b);
}

int main(void) {
  t_init(120);
  T_RUN(t_new_and_ids);
  T_RUN(t_remote_free_and_drain);
  T_RUN(t_remote_interleaving);
  T_RUN(t_block_states);
  T_RUN(t_classify);
  T_RUN(t_abandon_adopt);
  T_RUN(t_abandon_after_free);
  T_RUN(t_destroy_with_live_blocks);
  T_RUN(t_bind);
  T_RUN(t_collect_releases);
  T_RUN(t_debug_reset);
  return t_done();
}
