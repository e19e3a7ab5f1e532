/* Heap lifecycle: initialisation, the thread binding, thread exit
 * (abandon), adoption, destruction, and fork.
 *
 * A thread reaches its heap through one thread-local pointer (initial-exec
 * TLS: no __tls_get_addr, which could allocate).  Before its first
 * allocation a thread points at hak__empty_heap, whose caches are all empty
 * with capacity 0, so the fast paths need no "initialised?" test: they fall
 * into the slow path, which creates or adopts a real heap.
 *
 * Thread exit abandons the heap: its cache goes back to the slabs, empty
 * segments go back, and the heap, with its remaining slabs, waits on the
 * abandoned list.  Blocks other threads free later keep arriving on its
 * remote queue (the heap object is never unmapped, so that is always safe);
 * they are reclaimed when a new thread adopts the heap, or when any thread
 * needs a new segment (hak__reclaim_abandoned).  So heaps, and memory, do
 * not grow with thread churn.
 *
 * Lock order (fork's prepare handler takes them all in this order):
 * check scratch -> heaps -> segment cache -> large/BigCache -> metadata. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include "internal.h"

__thread hak_heap *hak__tls_heap __attribute__((tls_model("initial-exec"))) = &hak__empty_heap;
static __thread int tls_exit_hook __attribute__((tls_model("initial-exec")));
static __thread int tls_in_init __attribute__((tls_model("initial-exec")));   /* see hak__init_slow */
hak_heap hak__empty_heap;
hak_atomic_u32 hak__init_state;

static hak_lock heaps_lock;
static hak_heap *all_heaps;
static hak_heap *abandoned_head, *abandoned_tail;
static hak_heap *dead_heaps;
static uint32_t heap_ids;
uintptr_t hak__free_key;
uintptr_t hak__link_key;
static pthread_key_t exit_key;

void hak__lock_wait(hak_lock *l) {
  for (;;) {
    while (hak_atomic_u32_load(l, HAK_RELAXED) != 0) sched_yield();
    if (hak_atomic_u32_exchange(l, 1, HAK_ACQUIRE) == 0) return;
  }
}

/* ---- fork ---------------------------------------------------------------
 * prepare takes every global lock so no other thread holds one at fork;
 * the child resets them (their holders do not exist there).  Heaps bound
 * to the other threads become ORPHANED in the child (see types.h). */
static void fork_prepare(void) {
  hak__check_lock_all();
  hak_lock_acquire(&heaps_lock);
  hak__segment_lock_all();
  hak__large_lock_all();
  hak__meta_lock_all();
}
static void fork_parent(void) {
  hak__meta_unlock_all(0);
  hak__large_unlock_all(0);
  hak__segment_unlock_all(0);
  hak_lock_release(&heaps_lock);
  hak__check_unlock_all(0);
}
static void fork_child(void) {
  hak__changed_global();
  for (hak_heap *h = all_heaps; h != NULL; h = h->next_all)
    if (h->state == HAK_HEAP_OWNED && h->bound && h != hak__tls_heap) h->state = HAK_HEAP_ORPHANED;
  hak__meta_unlock_all(1);
  hak__large_unlock_all(1);
  hak__segment_unlock_all(1);
  hak_lock_reset(&heaps_lock);
  hak__check_unlock_all(1);
}

static void thread_exit(void *unused) {
  (void)unused;
  tls_exit_hook = 0;
  hak_heap *h = hak__tls_heap;
  if (h != &hak__empty_heap) {
    /* ASan: the thread's parked frees become real before its heap is
     * abandoned, so the abandoned heap's state is what the program did
     * (the flush is global: simple, and thread exit is rare) */
    hak__quarantine_flush();
    hak__tls_heap = &hak__empty_heap;
    h->bound = 0;
    hak_heap_abandon(h);
  }
}

/* Initialisation in two phases.  Phase 1 (options, key) allocates nothing,
 * so malloc called from anywhere inside it cannot recurse (HAKMEM.md bug 6).
 * Phase 2 registers the thread-exit key and the fork handlers; glibc may
 * call malloc from them, which is fine once the core is marked ready.
 *
 * A malloc from inside phase 1 on the initialising thread would wait below
 * for that same thread forever: a silent hang at the first allocation.  It
 * is reported instead.  The test is one branch on this slow path, taken
 * only before the core is ready, so it is on in every build.  (A thread
 * that loses the race holds tls_in_init only until it starts waiting.) */
void hak__init_slow(void) {
  if (tls_in_init) hak__fatal("hakmem: allocator re-entered during initialisation");
  tls_in_init = 1;
  uint32_t expected = 0;
  if (hak_atomic_u32_cas(&hak__init_state, &expected, 1, HAK_ACQ_REL, HAK_ACQUIRE)) {
    hak__options_init();
    hak__stats_init();
    hak__free_key = hak__os_random();
    hak__link_key = hak__os_random();
    tls_in_init = 0;
    hak_atomic_u32_store(&hak__init_state, 2, HAK_RELEASE);
    pthread_key_create(&exit_key, thread_exit);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    hak_atomic_u32_store(&hak__init_state, 3, HAK_RELEASE);
    return;
  }
  tls_in_init = 0;
  while (hak_atomic_u32_load(&hak__init_state, HAK_ACQUIRE) < 2) sched_yield();
}

__attribute__((constructor)) static void init_at_load(void) { hak__ensure_init(); }

/* ---- heap objects ------------------------------------------------------ */
static size_t slots_offset(void) { return (sizeof(hak_heap) + 63) & ~(size_t)63; }

static void heap_reset(hak_heap *h) {
  char *slots = (char *)h + slots_offset();
  for (unsigned cls = 0; cls < HAK_NCLASS; cls++) {
    h->cache[cls].slots = (void **)slots;
    h->cache[cls].count = 0;
    h->cache[cls].cap = HAK_CACHE_MIN;
    slots += hak__class_cap_max[cls] * sizeof(void *);
  }
  h->free_key = hak__free_key;
  h->remote.v = NULL;
  memset(h->partial, 0, sizeof h->partial);
  memset(h->avail, 0, sizeof h->avail);
  memset(h->full, 0, sizeof h->full);
  memset(h->refill_since_overflow, 0, sizeof h->refill_since_overflow);
  h->mid_chunks = 0;
  h->state = HAK_HEAP_OWNED;
  h->bound = 0;
  h->next_list = NULL;
  hak__changed_heap(h);
  hak__changed_global();   /* a heap the checker now walks (or walks anew) */
}

static hak_heap *heap_create(void) {
  hak__ensure_init();
  hak_lock_acquire(&heaps_lock);
  hak_heap *h = dead_heaps;
  if (h != NULL) dead_heaps = h->next_list;
  hak_lock_release(&heaps_lock);
  if (h == NULL) {
    size_t slots = 0;
    for (unsigned cls = 0; cls < HAK_NCLASS; cls++) slots += hak__class_cap_max[cls];
    size_t size = (slots_offset() + slots * sizeof(void *) + HAK_PAGE - 1) & ~(size_t)(HAK_PAGE - 1);
    h = hak__os_map(size, HAK_PAGE);
    if (h == NULL) return NULL;
    h->map_size = size;
    hak_lock_acquire(&heaps_lock);
    h->id = ++heap_ids;
    h->next_all = all_heaps;
    all_heaps = h;
    hak_lock_release(&heaps_lock);
  }
  heap_reset(h);
  HAK_COUNT(heaps, 1);
  return h;
}

HAK_EXPORT hak_heap *hak_heap_new(void) {
  hak_heap *h = heap_create();
  if (h == NULL) errno = ENOMEM;
  return h;
}

HAK_EXPORT unsigned hak_heap_id(const hak_heap *h) { return h->id; }

HAK_EXPORT hak_heap *hak_heap_adopt(void) {
  hak__ensure_init();
  hak_lock_acquire(&heaps_lock);
  hak_heap *h = abandoned_head;
  if (h != NULL) {
    abandoned_head = h->next_list;
    if (abandoned_head == NULL) abandoned_tail = NULL;
    h->next_list = NULL;
    h->state = HAK_HEAP_OWNED;
    hak__changed_global();
    hak_atomic_u64_sub(&hak__ctr.heaps_abandoned, 1, HAK_RELAXED);
  }
  hak_lock_release(&heaps_lock);
  if (h != NULL) hak__drain(h);
  return h;
}

HAK_EXPORT void hak_heap_abandon(hak_heap *h) {
  /* ASan: parked frees become real first, as in thread_exit, so an
   * abandoned heap holds what the program did, however it was abandoned */
  hak__quarantine_flush();
  hak__cache_flush_all(h);
  hak__drain(h);
  hak__release_empty_slabs(h);
  hak_lock_acquire(&heaps_lock);
  h->state = HAK_HEAP_ABANDONED;
  hak__changed_global();
  h->next_list = NULL;
  if (abandoned_tail) abandoned_tail->next_list = h;
  else abandoned_head = h;
  abandoned_tail = h;
  hak_lock_release(&heaps_lock);
  hak_atomic_u64_add(&hak__ctr.heaps_abandoned, 1, HAK_RELAXED);
}

/* Some thread needs memory: collect what was freed into abandoned heaps
 * since they were abandoned, so their empty segments can be reused. */
void hak__reclaim_abandoned(void) {
  hak_lock_acquire(&heaps_lock);
  for (hak_heap *h = abandoned_head; h != NULL; h = h->next_list) {
    if (hak_atomic_ptr_load(&h->remote, HAK_RELAXED) == NULL) continue;
    hak__drain(h);
    hak__release_empty_slabs(h);
  }
  hak_lock_release(&heaps_lock);
}

HAK_EXPORT void hak_heap_destroy(hak_heap *h) {
  if (h == NULL || h == &hak__empty_heap) return;
  hak__quarantine_flush();   /* ASan: no quarantined block may outlive its heap */
  hak_lock_acquire(&heaps_lock);
  if (h->state == HAK_HEAP_DEAD) {
    hak_lock_release(&heaps_lock);
    return;
  }
  if (h->state == HAK_HEAP_ABANDONED) {
    hak_heap **pp = &abandoned_head, *prev = NULL;
    while (*pp != h) { prev = *pp; pp = &(*pp)->next_list; }
    *pp = h->next_list;
    if (abandoned_tail == h) abandoned_tail = prev;
    hak_atomic_u64_sub(&hak__ctr.heaps_abandoned, 1, HAK_RELAXED);
  }
  h->state = HAK_HEAP_DEAD;
  hak__changed_global();
  hak_lock_release(&heaps_lock);
  (void)hak_atomic_ptr_exchange(&h->remote, NULL, HAK_ACQUIRE);
  for (unsigned cls = 0; cls < HAK_NCLASS; cls++) h->cache[cls].count = 0;
  hak__segments_release_all(h);
  heap_reset(h);
  h->state = HAK_HEAP_DEAD;
  hak_lock_acquire(&heaps_lock);
  h->next_list = dead_heaps;
  dead_heaps = h;
  hak_lock_release(&heaps_lock);
  hak_atomic_u64_sub(&hak__ctr.heaps, 1, HAK_RELAXED);
}

/* ---- thread binding ---------------------------------------------------- */
hak_heap *hak__heap_for_thread(void) {
  hak__ensure_init();
  hak_heap *h = hak__tls_heap;
  if (h == &hak__empty_heap) {
    h = hak_heap_adopt();
    if (h == NULL) h = heap_create();
    if (h == NULL) {
      errno = ENOMEM;
      return NULL;
    }
    h->bound = 1;
    hak__tls_heap = h;
  }
  /* After phase 2 of init, make sure thread exit will abandon the heap.
   * pthread_setspecific may allocate: the heap is already bound. */
  if (!tls_exit_hook && hak_atomic_u32_load(&hak__init_state, HAK_ACQUIRE) == 3) {
    tls_exit_hook = 1;
    pthread_setspecific(exit_key, (void *)1);
  }
  return h;
}

HAK_EXPORT hak_heap *hak_heap_current(void) { return hak__heap_for_thread(); }

HAK_EXPORT hak_heap *hak_heap_bind(hak_heap *h) {
  hak_heap *prev = hak__tls_heap;
  if (prev != &hak__empty_heap) prev->bound = 0;
  hak__tls_heap = h ? h : &hak__empty_heap;
  if (h) h->bound = 1;
  return prev == &hak__empty_heap ? NULL : prev;
}

/* ---- iteration for the checker ------------------------------------------
 * Every heap, DEAD and ORPHANED ones included: the checker skips those but
 * must know them (a segment may be owned by an ORPHANED heap). */
void hak__heaps_foreach(hak_heap_fn fn, void *arg) {
  hak_lock_acquire(&heaps_lock);
  for (hak_heap *h = all_heaps; h != NULL; h = h->next_all) fn(h, arg);
  hak_lock_release(&heaps_lock);
}

HAK_EXPORT void hak_debug_reset(void) {
  hak__quarantine_flush();   /* ASan: before blocks are released behind its back */
  for (;;) {
    hak_heap *victim = NULL;
    hak_lock_acquire(&heaps_lock);
    for (hak_heap *h = all_heaps; h != NULL && victim == NULL; h = h->next_all)
      if (h->state != HAK_HEAP_DEAD && h->state != HAK_HEAP_ORPHANED && !h->bound) victim = h;
    hak_lock_release(&heaps_lock);
    if (victim == NULL) break;
    hak_heap_destroy(victim);
  }
  hak__large_release_all();
  /* Unlike hak_trim, the empty segments and BigCache stay (both bounded by
   * their options): a fuzzer resets after every input, and mapping and
   * faulting fresh memory each time cost it most of its speed. */
  hak__reclaim_abandoned();
#ifdef HAK_FUZZ
  /* Fuzz builds: after a reset the dead heaps are handed out again in
   * creation order, not in the order the last input destroyed them, so an
   * input's heap slots get the same structures (and the same walks of the
   * abandoned list) every run: AFL++ counted hak_heap_destroy's walk as
   * unstable.  Like the rest of hak_debug_reset, for a quiescent process. */
  hak_lock_acquire(&heaps_lock);
  hak_heap **tail = &dead_heaps;
  for (hak_heap *h = all_heaps; h != NULL; h = h->next_all)
    if (h->state == HAK_HEAP_DEAD) { *tail = h; tail = &h->next_list; }
  *tail = NULL;
  hak_lock_release(&heaps_lock);
#endif
}

HAK_EXPORT void hak_trim(void) {
  hak__quarantine_flush();   /* ASan: the quarantine is a global cache too */
  hak__reclaim_abandoned();
  hak__segment_cache_release(SIZE_MAX);
  hak__bigcache_release(SIZE_MAX);
}

#ifdef HAK_FUZZ
/* Fuzz builds: the canonical state a persistent fuzzer starts each input
 * from, after hak_debug_reset.  The caches hold a fixed set, mapped once
 * and faulted in as inputs touch it (CANON_* below: more than most inputs
 * use), in address order, with the clocks restarted and the hint past them; whatever an
 * input mapped beyond that set is unmapped.  So one input takes the same
 * path every run (AFL++ stability, replays that find what the fuzzer
 * found) and finds its memory resident, where hak_trim after each input
 * made every input map and fault in afresh.  When the set itself was
 * disturbed (see segment.c and large.c), everything is trimmed and the set
 * built again: the same state, at the cost of a few milliseconds.
 * Returns 1 after a rebuild, 0 otherwise, -1 if the OS refused a map. */
#define CANON_TINY  48                   /* tiny segments */
#define CANON_MID   16                   /* first-level mid chunks (segment.c holds 64 in all) */
#define CANON_LARGE ((size_t)128 << 20)  /* one span for large blocks: 64 granules */
static int canon_built;

HAK_EXPORT int hak_fuzz_canon(void);
HAK_EXPORT int hak_fuzz_canon(void) {
  int seg = hak__segment_fuzz_canon(), large = hak__large_fuzz_canon();   /* both: each drops its extras */
  if (canon_built && seg == 0 && large == 0) {
    hak__segmap_fuzz_prune();
    hak_fuzz_os_reset();
    return 0;
  }
  hak_trim();
  hak__os_fuzz_mark(1);
  canon_built = hak__large_fuzz_build(CANON_LARGE) == 0 && hak__segment_fuzz_build(CANON_TINY, CANON_MID) == 0;
  hak__os_fuzz_mark(0);
  hak__segmap_fuzz_prune();
  return canon_built ? 1 : -1;
}
#endif
