/* Internal interfaces between the core's files.  One file, one job:
 *   os.c        every system call (map, unmap, decommit, huge-page advice)
 *   segmap.c    the address-space map: granule -> region descriptor
 *   meta.c      descriptors and heap objects, kept outside user memory
 *   sizeclass.c the size-class table
 *   options.c   HAKMEM_* environment options, read once
 *   stats.c     counters and the HAKMEM_STATS report
 *   fatal.c     fixed-format messages without allocating; abort
 *   segment.c   segments and mid chunks: acquire, release, segment cache
 *   slab.c      slab refill, flush, remote drain (the heap's slow paths)
 *   heap.c      heap lifecycle, thread binding, thread exit, fork, init
 *   large.c     large blocks and BigCache (the span cache), large realloc
 *   alloc.c     the public API and its fast paths
 *   check.c     the invariant checker, visitor and classification
 *               (alloc.c also exports them as malloc & co.) */
#ifndef HAK_INTERNAL_H
#define HAK_INTERNAL_H

#include <stdarg.h>
#include "types.h"
#include "track.h"

/* ---- os.c ------------------------------------------------------------- */
/* Contract: sizes are multiples of HAK_PAGE and > 0; align is a power of
 * two >= HAK_PAGE.  map returns zeroed, readable and writable memory aligned
 * to align, or NULL with errno ENOMEM.  The other calls take a range that
 * map returned (or a page-aligned part of one) and return 0 or -1. */
void *hak__os_map(size_t size, size_t align);
void *hak__os_map_unfailing(size_t size);  /* checker scratch: no failure injection */
int   hak__os_unmap(void *p, size_t size);
int   hak__os_decommit(void *p, size_t size);
void *hak__os_remap(void *p, size_t old_size, size_t new_size, void *fixed);  /* NULL: failed, range kept */
void  hak__os_hugepage(void *p, size_t size);
void  hak__os_populate(void *p, size_t size);   /* prefault, advice only */
#ifdef HAK_FUZZ   /* fuzz builds only: the canonical state between inputs (heap.c hak_fuzz_canon) */
void  hak__os_fuzz_mark(int restart);
void *hak__os_fuzz_map_at(uintptr_t addr, size_t size);   /* exactly there, or NULL */
HAK_EXPORT void hak_fuzz_os_reset(void);
int   hak__segment_fuzz_build(unsigned tiny, unsigned mid);
int   hak__segment_fuzz_canon(void);
int   hak__large_fuzz_build(size_t bytes);
int   hak__large_fuzz_canon(void);
void  hak__segmap_fuzz_prune(void);
#endif
uintptr_t hak__os_random(void);
int   hak__read_proc_status_vmhwm(unsigned long *kib);   /* peak RSS, no allocation */
int   hak__os_dup_stderr(void);
size_t hak__os_backable_bytes(void);            /* RAM + swap, 0 if unknown */
void  hak__os_protect_readonly(void *p, size_t size);

/* ---- segmap.c ---------------------------------------------------------- */
#define HAK_SEGMAP_TOP_BITS  14   /* 2^14 leaves x 2^13 granules x 2 MiB = 2^48 bytes */
#define HAK_SEGMAP_LEAF_BITS 13
#define HAK_SEGMAP_LIMIT     ((uintptr_t)1 << (HAK_GRANULE_SHIFT + HAK_SEGMAP_LEAF_BITS + HAK_SEGMAP_TOP_BITS))
extern hak_region **hak__segmap[1u << HAK_SEGMAP_TOP_BITS];
int  hak__segmap_set(uintptr_t base, size_t size, hak_region *r);  /* 0, or -1 ENOMEM */
void hak__segmap_clear(uintptr_t base, size_t size);
#define HAK_SEGMAP_GRANULES ((uintptr_t)1 << (HAK_SEGMAP_TOP_BITS + HAK_SEGMAP_LEAF_BITS))
uintptr_t hak__segmap_next_used(uintptr_t granule);   /* checker's walk: see segmap.c */

/* A map entry is the descriptor's address with HAK_SEGMAP_TINY or'ed in for
 * a tiny segment (descriptors are 8-byte aligned).  free's fast path then
 * finds a tiny block's slab from the entry and the address alone (a tiny
 * segment is one granule of 32 slabs of 64 KiB), one dependent load
 * shorter than through the descriptor's base and slab shift. */
#define HAK_SEGMAP_TINY ((uintptr_t)1)
HAK_INLINE hak_region *hak__segmap_region(uintptr_t entry) {
  return (hak_region *)(entry & ~HAK_SEGMAP_TINY);
}

/* The raw map entry of address a (0: not hakmem's).  Another thread may be
 * mapping a neighbouring granule right now: atomic loads (segmap.c stores
 * with release). */
HAK_INLINE uintptr_t hak__segmap_entry(uintptr_t a) {
  hak_region **leaf = hak_atomic_ptr_peek(
      (hak_atomic_ptr *)&hak__segmap[(a >> (HAK_GRANULE_SHIFT + HAK_SEGMAP_LEAF_BITS)) &
                                     ((1u << HAK_SEGMAP_TOP_BITS) - 1)]);
  if (HAK_UNLIKELY(leaf == NULL)) return 0;
  return (uintptr_t)hak_atomic_ptr_peek(
      (hak_atomic_ptr *)&leaf[(a >> HAK_GRANULE_SHIFT) & ((1u << HAK_SEGMAP_LEAF_BITS) - 1)]);
}

/* The region containing address a, or NULL when a is not hakmem's.
 * Reads only the map and the descriptor, never the memory at a. */
HAK_INLINE hak_region *hak__region_of(uintptr_t a) {
  hak_region *r = hak__segmap_region(hak__segmap_entry(a));
  if (HAK_UNLIKELY(r == NULL || a - r->base >= r->size)) return NULL;
  return r;
}
HAK_INLINE hak_slab *hak__slab_of(hak_region *r, uintptr_t a) {
  return &((hak_segment *)r)->slabs[(a - r->base) >> r->slab_shift];
}
/* Index of the block at offset off in slab s (exact for off < 2^18). */
HAK_INLINE uint32_t hak__block_index(const hak_slab *s, uintptr_t off) {
  return (uint32_t)((off * s->recip) >> 40);
}

/* ---- meta.c ------------------------------------------------------------ */
hak_segment *hak__meta_segment_new(void);
void         hak__meta_segment_free(hak_segment *s);
hak_large   *hak__meta_large_new(void);
void         hak__meta_large_free(hak_large *l);
void         hak__meta_lock_all(void);
void         hak__meta_unlock_all(int child);

/* ---- sizeclass.c ------------------------------------------------------- */
extern const uint32_t hak__class_size[HAK_NCLASS];
extern const uint8_t  hak__tiny_class[(HAK_TINY_MAX >> 4) + 1];
extern const uint16_t hak__class_cap_max[HAK_NCLASS];
HAK_INLINE unsigned hak__size_class(size_t n) {   /* n <= HAK_MID_MAX */
  if (n <= HAK_TINY_MAX) return hak__tiny_class[(n + 15) >> 4];
  size_t m = n - 1;
  unsigned e = 63u - (unsigned)__builtin_clzl(m);  /* 10..15 */
  return HAK_TINY_CLASSES + (e - 10) * 4 + (unsigned)((m >> (e - 2)) & 3);
}

/* ---- options.c --------------------------------------------------------- */
typedef struct hak_options {
  size_t   bigcache_bytes;     /* HAKMEM_BIGCACHE_MB */
  size_t   arena_init_bytes;   /* HAKMEM_POOL_TLS_ARENA_MB_INIT */
  size_t   arena_max_bytes;    /* HAKMEM_POOL_TLS_ARENA_MB_MAX */
  unsigned arena_levels;       /* HAKMEM_POOL_TLS_ARENA_GROWTH_LEVELS */
  unsigned segment_cache;      /* HAKMEM_SEGMENT_CACHE: empty segments kept */
  unsigned hugepages;          /* HAKMEM_HUGEPAGES */
  unsigned stats;              /* HAKMEM_STATS */
  unsigned verbose;            /* HAKMEM_VERBOSE */
  size_t   large_max;          /* HAKMEM_LARGE_MAX: bytes; larger requests fail at once */
} hak_options;
extern const hak_options *hak__opt;
void hak__options_init(void);
void hak__stats_init(void);   /* after options: keep a report fd if HAKMEM_STATS */

/* ---- stats.c ----------------------------------------------------------- */
typedef struct hak_counters {
  hak_atomic_u64 os_map, os_unmap, os_commit, os_decommit, os_madvise;
  hak_atomic_u64 mapped, peak_mapped, segments, peak_segments, segment_cache;
  hak_atomic_u64 large_live, large_allocs, bigcache_hits, bigcache_misses, bigcache_bytes;
  hak_atomic_u64 heaps, heaps_abandoned, tiny_refills, mid_refills, remote_drained;
} hak_counters;
extern hak_counters hak__ctr;
#define HAK_COUNT(field, n) hak_atomic_u64_add(&hak__ctr.field, (n), HAK_RELAXED)

/* ---- fatal.c ----------------------------------------------------------- */
void hak__fatal(const char *fmt, ...) HAK_PRINTF(1, 2) HAK_NORETURN HAK_COLD;
void hak__warn(const char *fmt, ...) HAK_PRINTF(1, 2) HAK_COLD;
int  hak__vfmt(char *buf, size_t len, const char *fmt, va_list ap);
int  hak__fmt(char *buf, size_t len, const char *fmt, ...) HAK_PRINTF(3, 4);
void hak__write_all(int fd, const char *s, size_t n);
const char *hak__tier_name(int cls);

/* ---- what changed since the last check (check.c hak_check_changed) -----
 * Check builds note each change to a heap (its check_dirty flag, set by
 * every path that writes the heap's lists, caches or queue, whatever thread
 * runs it), to the segment side (a count: the segment cache, the
 * address-space map, which heap owns a segment, the set of heaps and their
 * states) and to the large lists and BigCache (another count).  Release
 * builds compile all three to nothing.  So do the scheduler and
 * model-checker builds: there every atomic operation is a schedule point
 * of the algorithm under test; hak_check_changed is then hak_check_all. */
#if HAK_CHECK_LEVEL >= 2 && !defined(HAK_SCHED) && !defined(HAK_ATOMIC_MODEL)
#define HAK_CHECK_TRACKS_CHANGES 1
extern hak_atomic_u64 hak__check_gen, hak__check_large_gen;
HAK_INLINE void hak__changed_global(void) { hak_atomic_u64_add(&hak__check_gen, 1, HAK_RELAXED); }
HAK_INLINE void hak__changed_large(void) { hak_atomic_u64_add(&hak__check_large_gen, 1, HAK_RELAXED); }
HAK_INLINE void hak__changed_heap(hak_heap *h) { hak_atomic_u32_store(&h->check_dirty, 1, HAK_RELAXED); }
#else
#define HAK_CHECK_TRACKS_CHANGES 0
HAK_INLINE void hak__changed_global(void) {}
HAK_INLINE void hak__changed_large(void) {}
HAK_INLINE void hak__changed_heap(hak_heap *h) { (void)h; }
#endif

/* ---- segment.c --------------------------------------------------------- */
hak_slab *hak__slab_acquire(hak_heap *h, unsigned cls);   /* NULL + ENOMEM */
void      hak__slab_release(hak_heap *h, hak_slab *s);     /* s has used == 0 */
void      hak__segments_release_all(hak_heap *h);          /* heap destroy */
size_t    hak__segment_cache_release(size_t bytes);       /* unmap >= bytes (SIZE_MAX: all); returns bytes */
void      hak__segment_lock_all(void);
void      hak__segment_unlock_all(int child);
typedef struct hak_segcache_index { hak_region **head; unsigned *count; } hak_segcache_index;
void      hak__segment_cache_index(hak_segcache_index *out);   /* for check.c, under the segment lock */

/* ---- slab.c ------------------------------------------------------------ */
void *hak__refill_pop(hak_heap *h, unsigned cls);         /* NULL + ENOMEM */
void  hak__cache_overflow(hak_heap *h, unsigned cls);      /* make room for one */
void  hak__cache_flush_all(hak_heap *h);
void  hak__drain(hak_heap *h);
void  hak__remote_push(hak_heap *owner, void *p);
void  hak__release_empty_slabs(hak_heap *h);

/* ---- heap.c ------------------------------------------------------------ */
extern __thread hak_heap *hak__tls_heap;
extern hak_heap hak__empty_heap;
extern uintptr_t hak__free_key;        /* marks freed blocks; see alloc.c */
/* The calling thread's heap: the one lookup every path goes through, so a
 * scheduler or a test can rebind it. */
HAK_INLINE hak_heap *hak__heap(void) { return hak__tls_heap; }
extern hak_atomic_u32 hak__init_state;   /* 0 none, 1 running, 2 core ready, 3 done */
void      hak__init_slow(void);
HAK_INLINE void hak__ensure_init(void) {
  if (HAK_UNLIKELY(hak_atomic_u32_load(&hak__init_state, HAK_ACQUIRE) < 2)) hak__init_slow();
}
hak_heap *hak__heap_for_thread(void);   /* create or adopt, and bind; NULL + ENOMEM */
void      hak__heap_lock_all(void);
void      hak__heap_unlock_all(int child);
void      hak__reclaim_abandoned(void);
typedef void (*hak_heap_fn)(hak_heap *h, void *arg);
void      hak__heaps_foreach(hak_heap_fn fn, void *arg);   /* every heap, any state, under the heaps lock */

/* ---- large.c ----------------------------------------------------------- */
/* *dirty: how many leading bytes may be non-zero (calloc clears those) */
void  *hak__large_alloc(size_t n, size_t align, size_t *dirty); /* NULL + ENOMEM */
void  *hak__large_resize(hak_large *l, size_t n);           /* n > HAK_MID_MAX; NULL: unchanged, copy */
void   hak__large_release_all(void);                       /* debug reset: unmap every live block */
void   hak__large_free(hak_large *l, void *p);
size_t hak__bigcache_release(size_t bytes);              /* unmap >= bytes, oldest first; returns bytes */
void   hak__large_lock_all(void);
void   hak__large_unlock_all(int child);
typedef struct hak_large_index {   /* for check.c, under the large lock */
  hak_region **live, **cache;        /* the live list; cached spans, address order */
  hak_large  **lru_head, **lru_tail;
  size_t      *cached_bytes, *dirty_bytes, *live_bytes;
  uint64_t    *epoch;
} hak_large_index;
void   hak__large_index(hak_large_index *out);
int    hak__large_visit_state(const hak_large *l);

/* ---- alloc.c ----------------------------------------------------------- */
void  *hak__alloc(hak_heap *h, size_t n);
void  *hak__alloc_aligned(hak_heap *h, size_t align, size_t n);
void   hak__free(hak_heap *h, void *p);
void  *hak__realloc(hak_heap *h, void *p, size_t n);
void  *hak__calloc(hak_heap *h, size_t nmemb, size_t size);

/* ---- check.c ----------------------------------------------------------- */
void hak__check_lock_all(void);
void hak__check_unlock_all(int child);

#endif
