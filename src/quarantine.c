/* ASan quarantine: freed blocks wait, poisoned, before hakmem may hand them
 * out again.  Without it the thread cache is LIFO: `free(p); q = malloc(n)`
 * returns q == p, so a write through the stale p lands in q's live bytes and
 * ASan (which sees only poison) has nothing to report.  Compiled only when
 * ASan is on; every other build has hak_free go straight to the core.
 *
 * A bounded FIFO shared by all threads: at most QN blocks and QBYTES bytes;
 * when full, the oldest blocks are really freed, in order.  Only hak_free
 * (the public free, malloc's partner) quarantines.  The instruments' API
 * (hak_heap_free & co.) and realloc's internal frees bypass it, so the fuzz
 * and property shadow models, which predict block states, stay exact.
 * Only local frees are quarantined (a tiny or mid block of the calling
 * thread's heap, which the LIFO thread cache would hand out next) and large
 * blocks (BigCache would); a remote free already waits in its owner's queue
 * until a drain, and keeps the state the program expects (remote).
 * For the core a quarantined block is still live: the checker, the visitor
 * and the statistics count it as live.
 *
 * What must stay correct with blocks sitting here:
 *  - misuse: a pointer that is not a live block start is never taken (free
 *    reports it at once, as always); a second free of a quarantined block
 *    releases the first and lets the core report "double free";
 *  - heap destroy / hak_debug_reset release blocks behind the program's
 *    back: they flush the quarantine first (heap.c), so no entry outlives
 *    its memory;
 *  - thread exit and hak_heap_abandon: entries are global, not per
 *    thread; all are flushed before a heap is abandoned (heap.c), so an
 *    abandoned heap holds no block the program already freed;
 *  - fork: the lock is taken around fork (pthread_atfork), so the child
 *    finds it free and its entries valid (memory is copied). */
#include <pthread.h>
#include "internal.h"

#ifdef HAK__ASAN
#define QN     1024               /* blocks */
#define QBYTES ((size_t)8 << 20)  /* bytes; a bigger block is not quarantined */

static struct {
  void  *p[QN];
  size_t n[QN];
  unsigned head, count;           /* FIFO: oldest at head */
  size_t bytes;
} q;
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t q_once = PTHREAD_ONCE_INIT;

static void q_prepare(void) { pthread_mutex_lock(&q_lock); }
static void q_parent(void) { pthread_mutex_unlock(&q_lock); }
static void q_child(void) { pthread_mutex_init(&q_lock, NULL); }
static void q_init(void) { pthread_atfork(q_prepare, q_parent, q_child); }

/* Usable size of p when p is the start of a live block, else 0: the same
 * tests as alloc.c's validate, without reporting (free will). */
static size_t live_block(void *p) {
  uintptr_t a = (uintptr_t)p;
  hak_region *r = hak__region_of(a);
  if (r == NULL) return 0;
  if (r->kind == HAK_REGION_LARGE)
    return a == r->base && ((hak_large *)r)->state == HAK_LARGE_LIVE ? r->size : 0;
  if (r->owner != hak__heap()) return 0;   /* remote frees: see the top */
  hak_slab *s = hak__slab_of(r, a);
  if (s->capacity == 0) return 0;
  uintptr_t off = a - s->start;
  uint32_t idx = hak__block_index(s, off);
  if ((uintptr_t)idx * s->block_size != off || idx >= hak_atomic_u16_peek(&s->carved)) return 0;
  if (HAK_HARDEN && hak__word_load(p, 1) == hak__free_key) return 0;
  return s->block_size;
}

static void *pop_oldest_locked(void) {
  void *old = q.p[q.head];
  q.bytes -= q.n[q.head];
  q.head = (q.head + 1) % QN;
  q.count--;
  return old;
}

int hak__quarantine_put(void *p) {
  if (p == NULL) return 0;
  size_t usable = live_block(p);
  if (usable == 0 || usable > QBYTES / 4) return 0;
  pthread_once(&q_once, q_init);
  void *out[QN];
  unsigned nout = 0;
  int taken = 1;
  pthread_mutex_lock(&q_lock);
  /* A quarantined block is wholly poisoned; a live one is not (unless it
   * is a malloc(0) block): scan only when p may already be here. */
  if (__asan_address_is_poisoned(p)) {
    for (unsigned i = 0, j = q.head; i < q.count; i++, j = (j + 1) % QN) {
      if (q.p[j] != p) continue;
      /* double free: the first free happens now, the core reports the second */
      q.p[j] = NULL;
      taken = 0;
      break;
    }
  }
  if (taken) {
    __asan_poison_memory_region(p, usable);
    while (q.count == QN || (q.count > 0 && q.bytes + usable > QBYTES)) out[nout++] = pop_oldest_locked();
    unsigned tail = (q.head + q.count) % QN;
    q.p[tail] = p;
    q.n[tail] = usable;
    q.count++;
    q.bytes += usable;
  }
  pthread_mutex_unlock(&q_lock);
  if (!taken) hak__free(hak__heap(), p);
  for (unsigned i = 0; i < nout; i++)
    if (out[i] != NULL) hak__free(hak__heap(), out[i]);
  return taken;
}

void hak__quarantine_flush(void) {
  for (;;) {
    void *p = NULL;
    int more;
    pthread_mutex_lock(&q_lock);
    if (q.count > 0) p = pop_oldest_locked();
    more = q.count > 0;
    pthread_mutex_unlock(&q_lock);
    if (p != NULL) hak__free(hak__heap(), p);
    if (!more) break;
  }
}
#else
typedef int hak__quarantine_c_is_empty_without_asan;
#endif
