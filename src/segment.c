/* Segments (2 MiB, tiny classes) and mid chunks (1 -> 2 -> 4 -> 8 MiB per
 * heap, mid classes): mapping, cutting into slabs, release, and the global
 * cache of empty segments.
 *
 * A segment belongs to one heap while any of its slabs is in use; when the
 * last slab is released the segment goes to the global cache (up to
 * HAKMEM_SEGMENT_CACHE of them, still mapped, still registered with owner
 * NULL so that a stale free is recognised) or back to the OS.  Every
 * registered segment is on exactly one list: a list of its owner heap, or
 * (owner NULL) the cache, whose count is cache_count (check.c).  Memory of
 * released slabs is not decommitted: on this kind of VM re-faulting a page
 * costs far more than keeping it. */
#include <errno.h>
#include <string.h>
#include "internal.h"

static hak_lock cache_lock;
static hak_region *cache_head;   /* empty segments, any kind */
static unsigned cache_count;

static void list_push(hak_region **head, hak_region *r) {
  r->prev = NULL;
  r->next = *head;
  if (*head) (*head)->prev = r;
  *head = r;
}

static void list_remove(hak_region **head, hak_region *r) {
  if (r->prev) r->prev->next = r->next;
  else *head = r->next;
  if (r->next) r->next->prev = r->prev;
  r->next = r->prev = NULL;
}

/* The cache list and its two counts (caller holds cache_lock). */
static void cache_push(hak_region *r) {
  hak__changed_global();
  list_push(&cache_head, r);
  cache_count++;
  hak_atomic_u64_add(&hak__ctr.segment_cache, 1, HAK_RELAXED);
}
static void cache_unlink(hak_region *r) {
  hak__changed_global();
  list_remove(&cache_head, r);
  cache_count--;
  hak_atomic_u64_sub(&hak__ctr.segment_cache, 1, HAK_RELAXED);
}

static size_t mid_chunk_size(const hak_heap *h) {
  unsigned level = h->mid_chunks < hak__opt->arena_levels ? h->mid_chunks : hak__opt->arena_levels - 1;
  size_t size = hak__opt->arena_init_bytes << level;
  if (size > hak__opt->arena_max_bytes) size = hak__opt->arena_max_bytes;
  return size > HAK_MID_CHUNK_MAX ? HAK_MID_CHUNK_MAX : size;
}

/* Every slab unused: the state of a segment entering a heap or the cache. */
static void reset_slabs(hak_segment *seg) {
  memset(seg->slabs, 0, sizeof seg->slabs);
  for (unsigned i = 0; i < HAK_SEG_MAX_SLABS; i++) seg->slabs[i].cls = HAK_CLS_NONE;
  seg->free_slabs = seg->r.nslabs == 32 ? 0xffffffffu : (1u << seg->r.nslabs) - 1;
}

static hak_segment *cache_take(int kind) {
  hak_lock_acquire(&cache_lock);
  hak_region *r = cache_head;
  while (r != NULL && r->kind != kind) r = r->next;
  if (r != NULL) cache_unlink(r);
  hak_lock_release(&cache_lock);
  return (hak_segment *)r;
}

/* A segment descriptor for the fresh mapping [base, base + size), registered. */
static hak_segment *segment_init(void *base, int kind, size_t size) {
  hak_segment *seg = hak__meta_segment_new();
  if (seg == NULL) {
    hak__os_unmap(base, size);
    return NULL;
  }
  seg->r.base = (uintptr_t)base;
  seg->r.size = size;
  seg->r.kind = (uint8_t)kind;
  seg->r.magic = HAK_REGION_MAGIC ^ (uint32_t)kind;
  seg->r.slab_shift = kind == HAK_REGION_TINY ? HAK_TINY_SLAB_SHIFT : HAK_MID_SLAB_SHIFT;
  seg->r.nslabs = (uint8_t)(size >> seg->r.slab_shift);
  reset_slabs(seg);
  memset(seg->populated, 0, sizeof seg->populated);
  if (hak__segmap_set(seg->r.base, size, &seg->r) != 0) {
    hak__os_unmap(base, size);
    hak__meta_segment_free(seg);
    errno = ENOMEM;
    return NULL;
  }
  if (hak__opt->hugepages && size >= HAK_GRANULE &&
      hak_atomic_u64_load(&hak__ctr.mapped, HAK_RELAXED) >= HAK_HUGEPAGE_AFTER + size)
    hak__os_hugepage(base, size);
  return seg;
}

static hak_segment *segment_map(int kind, size_t size) {
  void *base = hak__os_map(size, HAK_GRANULE);
  return base == NULL ? NULL : segment_init(base, kind, size);
}

static void segment_unmap(hak_segment *seg) {
  hak__segmap_clear(seg->r.base, seg->r.size);
  hak__os_unmap((void *)seg->r.base, seg->r.size);
  hak__meta_segment_free(seg);
}

/* A segment of the kind for heap h: from the cache, else from abandoned
 * heaps' empty segments, else freshly mapped. */
static hak_segment *segment_acquire(hak_heap *h, int kind) {
  hak_segment *seg = cache_take(kind);
  if (seg == NULL && hak_atomic_u64_load(&hak__ctr.heaps_abandoned, HAK_RELAXED) != 0) {
    hak__reclaim_abandoned();
    seg = cache_take(kind);
  }
  if (seg == NULL) {
    seg = segment_map(kind, kind == HAK_REGION_TINY ? HAK_TINY_SEG_SIZE : mid_chunk_size(h));
    if (seg == NULL) return NULL;
    if (kind == HAK_REGION_MID) h->mid_chunks++;
  } else {
    reset_slabs(seg);
  }
  seg->r.owner = h;   /* a region changes hands: the map check counts owners */
  hak__changed_global();
  list_push(&h->avail[kind - 1], &seg->r);
  uint64_t n = hak_atomic_u64_add(&hak__ctr.segments, 1, HAK_RELAXED) + 1;
  hak_atomic_u64_max(&hak__ctr.peak_segments, n);
  return seg;
}

static void segment_release(hak_heap *h, hak_segment *seg) {
  hak_region **list = seg->free_slabs == 0 ? &h->full[seg->r.kind - 1] : &h->avail[seg->r.kind - 1];
  list_remove(list, &seg->r);
  seg->r.owner = NULL;
  hak__changed_global();
  reset_slabs(seg);
  hak_atomic_u64_sub(&hak__ctr.segments, 1, HAK_RELAXED);
  hak_lock_acquire(&cache_lock);
  if (cache_count < hak__opt->segment_cache) {
    cache_push(&seg->r);
    seg = NULL;
  }
  hak_lock_release(&cache_lock);
  if (seg != NULL) segment_unmap(seg);
}

hak_slab *hak__slab_acquire(hak_heap *h, unsigned cls) {
  int kind = cls < HAK_TINY_CLASSES ? HAK_REGION_TINY : HAK_REGION_MID;
  hak__changed_heap(h);
  hak_segment *seg = (hak_segment *)h->avail[kind - 1];
  if (seg == NULL && (seg = segment_acquire(h, kind)) == NULL) return NULL;
  unsigned i = (unsigned)__builtin_ctz(seg->free_slabs);
  seg->free_slabs &= ~(1u << i);
  if (seg->free_slabs == 0) {
    list_remove(&h->avail[kind - 1], &seg->r);
    list_push(&h->full[kind - 1], &seg->r);
  }
  /* Every field is written here: a reused slab must not keep anything of
   * its previous class (HAKMEM.md bug 7: uninitialised slab metadata). */
  hak_slab *s = &seg->slabs[i];
  uint32_t bs = hak__class_size[cls];
  s->start = seg->r.base + ((uintptr_t)i << seg->r.slab_shift);
  hak_track_reserve((void *)s->start, (size_t)1 << seg->r.slab_shift);   /* tools: nothing handed out yet */
  s->block_size = bs;
  s->recip = (((uint64_t)1 << 40) / bs) + 1;
  s->capacity = (uint16_t)(((size_t)1 << seg->r.slab_shift) / bs);
  s->carved = 0;
  s->used = 0;
  s->free = NULL;
  s->cls = (uint8_t)cls;
  s->state = HAK_SLAB_PARTIAL;
  s->check_mark = 0;
  s->prev = NULL;
  s->next = h->partial[cls];
  if (s->next) s->next->prev = s;
  h->partial[cls] = s;
  return s;
}

void hak__slab_release(hak_heap *h, hak_slab *s) {
  hak_assert(s->used == 0 && s->state == HAK_SLAB_PARTIAL);
  hak__changed_heap(h);
  if (s->prev) s->prev->next = s->next;
  else h->partial[s->cls] = s->next;
  if (s->next) s->next->prev = s->prev;
  hak_segment *seg = (hak_segment *)hak__region_of(s->start);
  unsigned i = (unsigned)((s->start - seg->r.base) >> seg->r.slab_shift);
  memset(s, 0, sizeof *s);
  s->cls = HAK_CLS_NONE;
  if (seg->free_slabs == 0) {
    list_remove(&h->full[seg->r.kind - 1], &seg->r);
    list_push(&h->avail[seg->r.kind - 1], &seg->r);
  }
  seg->free_slabs |= 1u << i;
  uint32_t all = seg->r.nslabs == 32 ? 0xffffffffu : (1u << seg->r.nslabs) - 1;
  if (seg->free_slabs == all) segment_release(h, seg);
}

/* Heap destroy: every segment goes, whatever its slabs hold. */
void hak__segments_release_all(hak_heap *h) {
  hak__changed_heap(h);
  for (int k = 0; k < 2; k++) {
    while (h->full[k] != NULL) {
      hak_segment *seg = (hak_segment *)h->full[k];
      list_remove(&h->full[k], &seg->r);
      list_push(&h->avail[k], &seg->r);
      seg->free_slabs = 1;   /* any non-zero value: it now sits on avail */
    }
    while (h->avail[k] != NULL) segment_release(h, (hak_segment *)h->avail[k]);
  }
  memset(h->partial, 0, sizeof h->partial);
}

size_t hak__segment_cache_release(size_t bytes) {
  size_t done = 0;
  while (done < bytes) {
    hak_lock_acquire(&cache_lock);
    hak_region *r = cache_head;
    if (r != NULL) cache_unlink(r);
    hak_lock_release(&cache_lock);
    if (r == NULL) break;
    done += r->size;
    segment_unmap((hak_segment *)r);
  }
  return done;
}

void hak__segment_lock_all(void) { hak_lock_acquire(&cache_lock); }
void hak__segment_unlock_all(int child) {
  if (child) hak_lock_reset(&cache_lock);
  else hak_lock_release(&cache_lock);
}

/* The checker's view (check.c walks the cache under hak__segment_lock_all);
 * pointers to the list itself, so its unit test can corrupt it. */
void hak__segment_cache_index(hak_segcache_index *out) { *out = (hak_segcache_index){ &cache_head, &cache_count }; }

#ifdef HAK_FUZZ
/* ---- fuzz builds: the canonical segment cache ---------------------------
 * A persistent fuzzer must start every input from the same state, or one
 * input runs a different program each time (hak_fuzz_canon in heap.c).
 * Trimming every cache after each input gave that, at the price of
 * mapping and faulting in every segment afresh: most of an input's time
 * on a VM where a first touch costs ~11 us a page.  Instead a fixed set
 * of segments, mapped once, is put back in the cache after
 * each input in address order with every chunk marked populated; segments
 * an input mapped beyond it are unmapped, members it unmapped are mapped
 * again in their place.  -1 (the caller rebuilds everything) only when
 * that place cannot be had. */
#define CANON_MAX 64
typedef struct { uintptr_t base; size_t size; int kind; } canon_seg;
static canon_seg canon[CANON_MAX];
static unsigned canon_n;

static void mark_populated(hak_segment *seg) {   /* every chunk: no populate calls (see the build) */
  size_t n = seg->r.size / HAK_POPULATE_CHUNK;   /* a multiple of 64 */
  memset(seg->populated, 0, sizeof seg->populated);
  memset(seg->populated, 0xff, n / 8);
}

static int canon_find(uintptr_t base) {
  unsigned lo = 0, hi = canon_n;
  while (lo < hi) {
    unsigned mid = (lo + hi) / 2;
    if (canon[mid].base < base) lo = mid + 1;
    else hi = mid;
  }
  return lo < canon_n && canon[lo].base == base ? (int)lo : -1;
}

int hak__segment_fuzz_canon(void) {
  hak_region *keep[CANON_MAX] = { NULL }, *drop = NULL;
  int ok = canon_n != 0;
  hak_lock_acquire(&cache_lock);
  for (hak_region *r; (r = cache_head) != NULL;) {
    cache_unlink(r);
    int k = canon_find(r->base);
    if (k >= 0 && canon[k].size == r->size && canon[k].kind == r->kind && keep[k] == NULL) {
      keep[k] = r;
    } else {
      r->next = drop;
      drop = r;
    }
  }
  hak_lock_release(&cache_lock);
  while (drop != NULL) {   /* first: a member's place may be taken by one of these */
    hak_region *next = drop->next;
    segment_unmap((hak_segment *)drop);
    drop = next;
  }
  /* Members an input gave back (hak_trim, or the retry after a refused map)
   * are mapped again in their place: fresh pages, the same state. */
  for (unsigned k = 0; k < canon_n && ok; k++) {
    if (keep[k] != NULL) continue;
    void *base = hak__os_fuzz_map_at(canon[k].base, canon[k].size);
    hak_segment *seg = base != NULL ? segment_init(base, canon[k].kind, canon[k].size) : NULL;
    if (seg == NULL) ok = 0;
    else keep[k] = &seg->r;
  }
  hak_lock_acquire(&cache_lock);
  for (unsigned k = canon_n; k-- > 0;) {   /* pushed from the top: the head is the lowest address */
    if (keep[k] == NULL) { ok = 0; continue; }
    mark_populated((hak_segment *)keep[k]);
    cache_push(keep[k]);
  }
  hak_lock_release(&cache_lock);
  return ok ? 0 : -1;
}

/* Map `tiny` tiny segments and `mid` mid chunks of the first level's
 * size and make them the canonical set (the caller emptied the cache).
 * They are marked populated but not prefaulted: pages fault in when an
 * input first touches them and stay for the next inputs, so a rebuild
 * (an input that trimmed, or gave memory back after an injected OS
 * failure) costs maps, not 100 MiB of faults. */
int hak__segment_fuzz_build(unsigned tiny, unsigned mid) {
  canon_n = 0;
  if (tiny + mid > CANON_MAX) return -1;
  size_t mid_size = hak__opt->arena_init_bytes > HAK_MID_CHUNK_MAX ? HAK_MID_CHUNK_MAX : hak__opt->arena_init_bytes;
  for (unsigned i = 0; i < tiny + mid; i++) {
    int kind = i < tiny ? HAK_REGION_TINY : HAK_REGION_MID;
    size_t size = kind == HAK_REGION_TINY ? HAK_TINY_SEG_SIZE : mid_size;
    hak_segment *seg = segment_map(kind, size);
    if (seg == NULL) return -1;
    hak_lock_acquire(&cache_lock);
    cache_push(&seg->r);
    hak_lock_release(&cache_lock);
    unsigned j = canon_n++;   /* insertion sort by address */
    while (j > 0 && canon[j - 1].base > seg->r.base) { canon[j] = canon[j - 1]; j--; }
    canon[j] = (canon_seg){ seg->r.base, size, kind };
  }
  return hak__segment_fuzz_canon();
}
#endif
