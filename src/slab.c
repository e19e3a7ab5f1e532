/* The heap's slow paths between the thread cache and the slabs: refill
 * (drain the remote queue, then pop slab free lists, then carve), overflow
 * (grow the cache or flush half of it back), and the remote-free queue.
 *
 * Cache capacity adapts between HAK_CACHE_MIN and the class's cap_max:
 * it doubles on an overflow (the working set of freed blocks is larger
 * than the cache) and on a refill that follows a refill (the thread
 * allocates faster than it frees, so bigger batches amortise the slow
 * path).  A refill fetches half the capacity, but at most
 * HAK_REFILL_BATCH_BYTES of blocks (at least one), so the first use of a
 * class pre-warms the cache with a batch while a large cache does not
 * carve (and prefault) far more blocks than the thread goes on to use. */
#include <errno.h>
#include <string.h>
#include "internal.h"

enum { LAST_NONE = 0, LAST_REFILL = 1, LAST_OVERFLOW = 2 };

/* Put block b (of slab s, owned by h) on the slab's free list. */
static void free_push(hak_heap *h, hak_slab *s, void *b) {
  hak__word_store(b, 0, (uintptr_t)s->free);
  s->free = b;
  hak_assert(s->used > 0);
  s->used--;
  if (s->state == HAK_SLAB_FULL) {
    s->state = HAK_SLAB_PARTIAL;
    s->prev = NULL;
    s->next = h->partial[s->cls];
    if (s->next) s->next->prev = s;
    h->partial[s->cls] = s;
  }
  /* An empty slab goes back to its segment unless it is the class's only
   * partial slab, which is kept to avoid thrashing on alloc/free cycles. */
  if (s->used == 0 && (s->prev != NULL || s->next != NULL)) hak__slab_release(h, s);
}

/* The slab of a block the heap owns; a block that does not belong to h
 * here means its metadata or a list was corrupted. */
static hak_slab *owned_slab(hak_heap *h, void *b, const char *where) {
  hak_region *r = hak__region_of((uintptr_t)b);
  if (HAK_UNLIKELY(r == NULL || r->owner != h || r->kind == HAK_REGION_LARGE))
    hak__fatal("hakmem: corrupted %s: %p is not a block of heap %u", where, b, h->id);
  hak_slab *s = hak__slab_of(r, (uintptr_t)b);
  uintptr_t off = (uintptr_t)b - s->start;
  uint32_t idx = hak__block_index(s, off);
  if (HAK_UNLIKELY(idx >= s->carved || (uintptr_t)idx * s->block_size != off))
    hak__fatal("hakmem: corrupted %s: %p is not a carved block of its slab", where, b);
  return s;
}

/* Pop the free list of s, validating the link (a use-after-free write or an
 * overflow into a free block shows up here, not as silent corruption). */
static void *free_pop(hak_slab *s) {
  void *b = s->free;
  uintptr_t next = hak__word_load(b, 0);
  if (next != 0) {
    uintptr_t off = next - s->start;
    uint32_t idx = hak__block_index(s, off);
    if (HAK_UNLIKELY(off >= (uintptr_t)s->carved * s->block_size || (uintptr_t)idx * s->block_size != off))
      hak__fatal("hakmem: corrupted free list in slab %p: link %p in free block %p "
                 "(use after free or overflow)", (void *)s->start, (void *)next, b);
  }
  s->free = (void *)next;
  s->used++;
  return b;
}

/* Blocks [carved, carved + n) of s are about to be handed out for the first
 * time: prefault the HAK_POPULATE_CHUNK pieces of the slab they reach that
 * were never prefaulted (one system call instead of a page fault per page;
 * at most a chunk beyond the carved end is made resident).  A slab reused
 * from a released one, or a segment from the cache, finds its chunks marked
 * in seg->populated and makes no system call at all. */
static void populate_carve(hak_heap *h, const hak_slab *s, uint32_t n) {
  const uintptr_t chunk = HAK_POPULATE_CHUNK;
  uintptr_t from = (s->start + (uintptr_t)s->carved * s->block_size + chunk - 1) & ~(chunk - 1);
  uintptr_t to = (s->start + (uintptr_t)(s->carved + n) * s->block_size + chunk - 1) & ~(chunk - 1);
  if (to <= from) return;
  hak_segment *seg = (hak_segment *)hak__region_of(s->start);
  hak_assert_internal(seg != NULL && seg->r.owner == h);
  (void)h;
  uintptr_t first = (from - seg->r.base) / chunk, end = (to - seg->r.base) / chunk, lo = end, hi = first;
  for (uintptr_t i = first; i < end; i++) {
    uint64_t bit = (uint64_t)1 << (i & 63);
    if (seg->populated[i >> 6] & bit) continue;
    seg->populated[i >> 6] |= bit;
    if (lo == end) lo = i;
    hi = i + 1;
  }
  if (lo < hi) hak__os_populate((void *)(seg->r.base + lo * chunk), (hi - lo) * chunk);
}

void *hak__refill_pop(hak_heap *h, unsigned cls) {
  hak_tcache *c = &h->cache[cls];
  hak__changed_heap(h);
  /* Drain first: a block must never sit on a free list and the queue. */
  if (hak_atomic_ptr_load(&h->remote, HAK_RELAXED) != NULL) hak__drain(h);
  if (h->refill_since_overflow[cls] == LAST_REFILL && c->cap < hak__class_cap_max[cls]) {
    c->cap *= 2;
    if (c->cap > hak__class_cap_max[cls]) c->cap = hak__class_cap_max[cls];
  }
  h->refill_since_overflow[cls] = LAST_REFILL;
  uint32_t want = c->cap / 2 ? c->cap / 2 : 1;
  uint32_t batch = (uint32_t)(HAK_REFILL_BATCH_BYTES / hak__class_size[cls]);
  if (want > batch) want = batch ? batch : 1;
  while (c->count < want) {
    hak_slab *s = h->partial[cls];
    if (s == NULL && (s = hak__slab_acquire(h, cls)) == NULL) break;
    while (s->free != NULL && c->count < want) c->slots[c->count++] = free_pop(s);
    uint32_t n = want - c->count;
    if (n > (uint32_t)(s->capacity - s->carved)) n = (uint32_t)(s->capacity - s->carved);
    if (n != 0) populate_carve(h, s, n);
    /* Carve from the top so that the lowest block is handed out first. */
    for (uint32_t i = n; i-- > 0;)
      c->slots[c->count++] = (void *)(s->start + (uintptr_t)(s->carved + i) * s->block_size);
    hak_atomic_u16_grow(&s->carved, (uint16_t)(s->carved + n));   /* read by other threads' frees */
    s->used = (uint16_t)(s->used + n);
    if (s->free == NULL && s->carved == s->capacity) {
      h->partial[cls] = s->next;
      if (s->next) s->next->prev = NULL;
      s->next = s->prev = NULL;
      s->state = HAK_SLAB_FULL;
    }
  }
  /* One locked add per refill: the counters are shared by every thread. */
  hak_atomic_u64_add(cls < HAK_TINY_CLASSES ? &hak__ctr.tiny_refills : &hak__ctr.mid_refills, 1, HAK_RELAXED);
  hak_assert_expensive(hak_heap_check(h, NULL, 0) == 0);
  if (c->count == 0) {
    errno = ENOMEM;
    return NULL;
  }
  return c->slots[--c->count];
}

/* Move the n oldest cached blocks of cls back to their slabs. */
static void flush_n(hak_heap *h, unsigned cls, uint32_t n) {
  hak_tcache *c = &h->cache[cls];
  hak__changed_heap(h);
  for (uint32_t i = 0; i < n; i++) free_push(h, owned_slab(h, c->slots[i], "thread cache"), c->slots[i]);
  memmove(c->slots, c->slots + n, (c->count - n) * sizeof(void *));
  c->count -= n;
}

void hak__cache_overflow(hak_heap *h, unsigned cls) {
  hak_tcache *c = &h->cache[cls];
  hak__changed_heap(h);
  h->refill_since_overflow[cls] = LAST_OVERFLOW;
  if (c->cap < hak__class_cap_max[cls]) {
    c->cap *= 2;
    if (c->cap > hak__class_cap_max[cls]) c->cap = hak__class_cap_max[cls];
  } else {
    flush_n(h, cls, c->count / 2);
  }
}

void hak__cache_flush_all(hak_heap *h) {
  hak__changed_heap(h);
  for (unsigned cls = 0; cls < HAK_NCLASS; cls++) {
    flush_n(h, cls, h->cache[cls].count);
    h->cache[cls].cap = HAK_CACHE_MIN;
    h->refill_since_overflow[cls] = LAST_NONE;
  }
}

/* Remote free: lock-free push onto the owner heap's queue.  Release order
 * publishes the link (and the block's last user writes) to the drainer. */
void hak__remote_push(hak_heap *owner, void *p) {
  void *head = hak_atomic_ptr_load(&owner->remote, HAK_RELAXED);
  do {
    hak__word_store(p, 0, (uintptr_t)head);
  } while (!hak_atomic_ptr_cas(&owner->remote, &head, p, HAK_RELEASE, HAK_RELAXED));
  hak__changed_heap(owner);
}

/* Take the whole queue with one exchange (acquire pairs with the pushers'
 * release) and return each block to its slab. */
void hak__drain(hak_heap *h) {
  void *b = hak_atomic_ptr_exchange(&h->remote, NULL, HAK_ACQUIRE);
  uint64_t n = 0;
  hak__changed_heap(h);
  while (b != NULL) {
    /* Validate b before reading its link: b may be a corrupted link. */
    hak_slab *s = owned_slab(h, b, "remote-free queue");
    void *next = (void *)hak__word_load(b, 0);
    free_push(h, s, b);
    b = next;
    n++;
  }
  if (n) HAK_COUNT(remote_drained, n);
}

/* Collect: give back every empty slab, including each class's last one. */
void hak__release_empty_slabs(hak_heap *h) {
  hak__changed_heap(h);
  for (unsigned cls = 0; cls < HAK_NCLASS; cls++) {
    hak_slab *s = h->partial[cls];
    while (s != NULL) {
      hak_slab *next = s->next;
      if (s->used == 0) hak__slab_release(h, s);
      s = next;
    }
  }
}
