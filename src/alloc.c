/* The public API and its fast paths.
 *
 * malloc fast path (tiny and mid): size -> class, then pop the thread
 * cache: one load of the count, one test, one store, plus clearing the
 * double-free key word of the block.  Anything else (empty cache, large
 * size, thread without a heap yet: its heap is the empty heap whose
 * capacity is 0) takes the single branch to the noinline slow path.
 *
 * free fast path: the address-space map gives the region, the offset gives
 * the slab, class and block index (a multiply, no division); when the heap
 * owns the slab, the address is a carved block start, the block does not
 * carry the free key (not already free), and the cache has room, push.
 * Everything else (remote frees, large blocks, misuse) is decided in
 * free_slow, which reports misuse with one fixed line and aborts.
 *
 * The double-free key: a freed block's second word holds a per-process
 * random value (the first word is the free-list link).  malloc clears it.
 * A block whose second word holds the key when it is freed is already
 * free (the program cannot know the key; a false alarm needs a 2^-64
 * coincidence), wherever it sits: cache, free list or remote queue. */
#include <errno.h>
#include <string.h>
#include "internal.h"

/* ---- malloc ------------------------------------------------------------ */
/* The OS refused a mapping of about need bytes (a real limit such as
 * ulimit -v or the commit limit, or injection).  Round 0: this heap gives
 * back its cached blocks and empty slabs, and the global caches unmap
 * need bytes, BigCache's oldest blocks first, then empty segments: that
 * is what a limit on mapped bytes asks for, and one refused map does not
 * cost the program every cache it has (re-faulting them is what hurts).
 * Round 1, when the retry failed again: everything cached goes (hak_trim),
 * so that memory freed in one tier can serve another.  Returns 1 when
 * something was unmapped: the caller then retries; otherwise NULL + ENOMEM
 * stands.  Cold: failures only. */
static HAK_COLD int release_for_retry(hak_heap *h, size_t need, int round) {
  uint64_t before = hak_atomic_u64_load(&hak__ctr.mapped, HAK_RELAXED);
  if (round == 0) {
    if (h != &hak__empty_heap) {
      hak__drain(h);
      hak__cache_flush_all(h);
      hak__release_empty_slabs(h);
    }
    size_t done = hak__bigcache_release(need);
    if (done < need) hak__segment_cache_release(need - done);
  } else {
    hak_trim();
  }
  errno = ENOMEM;
  return hak_atomic_u64_load(&hak__ctr.mapped, HAK_RELAXED) < before;
}

/* A large block, retried after giving caches back when the OS refused.  A
 * request above HAKMEM_LARGE_MAX (default: RAM + swap, see options.c) or
 * that no address space could hold fails at once and is not retried:
 * trimming would only throw away every cache for nothing (fuzzers and
 * programs that probe with SIZE_MAX would pay for it on every call).  A
 * retry that succeeds leaves errno as the caller had it. */
static HAK_NOINLINE void *large_alloc_retry(hak_heap *h, size_t n, size_t align, size_t *dirty) {
  if (n > hak__opt->large_max || align > HAK_LARGE_ALIGN_MAX) {
    errno = ENOMEM;
    return NULL;
  }
  int saved = errno;
  void *p = hak__large_alloc(n, align, dirty);
  for (int round = 0; p == NULL && round < 2; round++)
    if (release_for_retry(h, n + align, round)) p = hak__large_alloc(n, align, dirty);
  if (p != NULL) errno = saved;
  return p;
}

static HAK_NOINLINE void *alloc_slow(hak_heap *h, size_t n) {
  hak__ensure_init();
  int saved = errno;   /* what a retry that succeeds must leave (below) */
  if (n > HAK_MID_MAX) {
    size_t dirty;
    void *p = large_alloc_retry(h, n, 0, &dirty);
    if (p) hak_track_alloc(p, n, (n + HAK_PAGE - 1) & ~(size_t)(HAK_PAGE - 1));
    return p;
  }
  if (h == &hak__empty_heap && (h = hak__heap_for_thread()) == NULL) return NULL;
  hak__changed_heap(h);
  unsigned cls = hak__size_class(n);
  void *p = hak__refill_pop(h, cls);
  for (int round = 0; p == NULL && round < 2; round++)   /* a new slab maps at most a mid chunk */
    if (release_for_retry(h, HAK_MID_CHUNK_MAX, round) && (p = hak__refill_pop(h, cls)) != NULL)
      errno = saved;   /* a retry that succeeded: the caller's errno stands */
  if (p == NULL) return NULL;
  if (HAK_HARDEN) hak__word_store(p, 1, 0);
  hak_track_alloc(p, n, hak__class_size[cls]);
  return p;
}

HAK_INLINE void *alloc_fast(hak_heap *h, size_t n) {
  /* Tiny first: its class is one table load, and it is the common case. */
  unsigned cls;
  if (HAK_LIKELY(n <= HAK_TINY_MAX)) cls = hak__tiny_class[(n + 15) >> 4];
  else if (HAK_LIKELY(n <= HAK_MID_MAX)) cls = hak__size_class(n);
  else return alloc_slow(h, n);
  {
    hak_tcache *c = &h->cache[cls];
    uint32_t k = c->count;
    if (HAK_LIKELY(k != 0)) {
      void *p = c->slots[k - 1];
      c->count = k - 1;
      hak__changed_heap(h);
      if (HAK_HARDEN) hak__word_store(p, 1, 0);
      hak_track_alloc(p, n, hak__class_size[cls]);
      return p;
    }
  }
  return alloc_slow(h, n);
}

void *hak__alloc(hak_heap *h, size_t n) { return alloc_fast(h, n); }
HAK_EXPORT void *hak_malloc(size_t n) { return alloc_fast(hak__heap(), n); }

/* ---- validation shared by free, realloc, malloc_usable_size ------------
 * Classify p and stop the program, with a fixed message naming the
 * operation, when p is not a live block hakmem handed out. */
typedef struct blk {
  hak_region *r;
  hak_slab   *s;      /* NULL for large */
  size_t      usable;
  int         cls;    /* -1 for large */
} blk;

static HAK_COLD HAK_NORETURN void freed_block(const char *op, void *p, int cls) {
  const char *what = strcmp(op, "free") == 0 ? "double free of" : op;
  const char *tail = strcmp(op, "free") == 0 ? "" : " of freed block";
  if (cls < 0) hak__fatal("hakmem: %s%s %p (large)", what, tail, p);
  hak__fatal("hakmem: %s%s %p (%s, class %d)", what, tail, p, hak__tier_name(cls), cls);
}

static blk validate(void *p, const char *op) {
  blk b = { NULL, NULL, 0, -1 };
  uintptr_t a = (uintptr_t)p;
  b.r = hak__region_of(a);
  if (b.r == NULL) {
    if ((a & 15) != 0) hak__fatal("hakmem: %s of unaligned pointer %p (not from hakmem)", op, p);
    hak__fatal("hakmem: %s of %p, which hakmem did not allocate", op, p);
  }
  if (b.r->kind == HAK_REGION_LARGE) {
    hak_large *l = (hak_large *)b.r;
    /* any pointer into a cached span is into freed memory (spans merge) */
    if (l->state != HAK_LARGE_LIVE) freed_block(op, p, -1);
    if (a != b.r->base) hak__fatal("hakmem: %s of interior pointer %p (large block %p)", op, p, (void *)b.r->base);
    b.usable = b.r->size;
    return b;
  }
  if (b.r->owner == NULL) hak__fatal("hakmem: %s of %p in a released segment (double free?)", op, p);
  b.s = hak__slab_of(b.r, a);
  if (b.s->capacity == 0) hak__fatal("hakmem: %s of %p in an unused slab (double free?)", op, p);
  b.cls = b.s->cls;
  uintptr_t off = a - b.s->start;
  uint32_t idx = hak__block_index(b.s, off);
  if ((uintptr_t)idx * b.s->block_size != off) {
    if ((a & 15) != 0) hak__fatal("hakmem: %s of unaligned pointer %p (%s, class %d)", op, p, hak__tier_name(b.cls), b.cls);
    hak__fatal("hakmem: %s of interior pointer %p (%s, class %d)", op, p, hak__tier_name(b.cls), b.cls);
  }
  if (idx >= hak_atomic_u16_peek(&b.s->carved)) hak__fatal("hakmem: %s of never-allocated block %p (%s, class %d)", op, p, hak__tier_name(b.cls), b.cls);
  if (HAK_HARDEN && hak__word_load(p, 1) == hak__free_key) freed_block(op, p, b.cls);
  b.usable = b.s->block_size;
  return b;
}

/* ---- free -------------------------------------------------------------- */
static HAK_NOINLINE void free_slow(hak_heap *h, void *p) {
  if (p == NULL) return;
  blk b = validate(p, "free");
  if (b.s == NULL) {
    hak__large_free((hak_large *)b.r, p);
    return;
  }
  hak_track_free(p, b.usable);
  if (HAK_HARDEN) hak__word_store(p, 1, hak__free_key);
  if (b.r->owner == h) {
    hak__changed_heap(h);
    hak_tcache *c = &h->cache[b.cls];
    if (c->count >= c->cap) hak__cache_overflow(h, (unsigned)b.cls);
    c->slots[c->count++] = p;
  } else {
    hak__remote_push(b.r->owner, p);
  }
}

/* The region lookup skips hak__region_of's "a - base < size" test: a
 * region the heap owns is a segment, which starts on a granule boundary,
 * so a lies at or above its base; a segment smaller than a granule (a
 * 1 MiB mid chunk) sends the rest of its granule to slabs numbered at or
 * beyond nslabs, which stay unused (carved 0), so "idx < carved" fails
 * there and free_slow classifies the pointer properly. */
HAK_INLINE void free_fast(hak_heap *h, void *p) {
  uintptr_t a = (uintptr_t)p;
  uintptr_t e = hak__segmap_entry(a);
  hak_region *r = hak__segmap_region(e);
  if (HAK_LIKELY(r != NULL && r->owner == h)) {
    hak_slab *s = HAK_LIKELY(e & HAK_SEGMAP_TINY)
                      ? &((hak_segment *)r)->slabs[(a >> HAK_TINY_SLAB_SHIFT) & (HAK_SEG_MAX_SLABS - 1)]
                      : hak__slab_of(r, a);
    uintptr_t off = a - s->start;
    uint32_t idx = hak__block_index(s, off);
    if (HAK_LIKELY(idx < s->carved && (uintptr_t)idx * s->block_size == off)) {
      hak_tcache *c = &h->cache[s->cls];
      uint32_t k = c->count;          /* read before the key store, which */
      void **slots = c->slots;        /* the compiler cannot tell apart   */
      if (HAK_LIKELY(k < c->cap && (!HAK_HARDEN || hak__word_load(p, 1) != h->free_key))) {
        hak_track_free(p, s->block_size);
        if (HAK_HARDEN) hak__word_store(p, 1, h->free_key);
        slots[k] = p;
        c->count = k + 1;
        hak__changed_heap(h);
        return;
      }
    }
  }
  free_slow(h, p);
}

void hak__free(hak_heap *h, void *p) { free_fast(h, p); }
HAK_EXPORT void hak_free(void *p) {
  if (HAK_QUARANTINE && hak__quarantine_put(p)) return;   /* ASan builds only: quarantine.c */
  free_fast(hak__heap(), p);
}

/* C23 sized frees: the size must be the one requested.  Check builds
 * verify it (it must fit the block); release trusts it. */
HAK_EXPORT void hak_free_sized(void *p, size_t size) {
  if (HAK_CHECK_LEVEL >= 1 && p != NULL && size > validate(p, "free_sized").usable)
    hak__fatal("hakmem: free_sized of %p with size %lu larger than the block", p, (unsigned long)size);
  free_fast(hak__heap(), p);
}

HAK_EXPORT void hak_free_aligned_sized(void *p, size_t alignment, size_t size) {
  if (HAK_CHECK_LEVEL >= 1 && p != NULL &&
      (size > validate(p, "free_aligned_sized").usable || ((uintptr_t)p & (alignment - 1)) != 0))
    hak__fatal("hakmem: free_aligned_sized of %p with a size or alignment it was not allocated with", p);
  free_fast(hak__heap(), p);
}

HAK_EXPORT size_t hak_malloc_usable_size(const void *p) {
  if (p == NULL) return 0;
  size_t usable = validate((void *)p, "malloc_usable_size").usable;
  hak_track_usable((void *)p, usable);   /* the program may now use them all */
  return usable;
}

/* ---- calloc / realloc -------------------------------------------------- */
void *hak__calloc(hak_heap *h, size_t nmemb, size_t size) {
  size_t n;
  if (__builtin_mul_overflow(nmemb, size, &n)) {
    errno = ENOMEM;
    return NULL;
  }
  if (n > HAK_MID_MAX) {
    hak__ensure_init();
    size_t dirty;
    void *p = large_alloc_retry(h, n, 0, &dirty);
    if (p == NULL) return NULL;
    hak_track_alloc(p, n, (n + HAK_PAGE - 1) & ~(size_t)(HAK_PAGE - 1));
    if (dirty > n) dirty = n;
    memset(p, 0, dirty);   /* past the dirty prefix the pages are untouched or decommitted */
    if (dirty < n) hak_track_zeroed((char *)p + dirty, n - dirty);   /* zero, but the tools were told "uninitialised" */
    return p;
  }
  void *p = alloc_fast(h, n);
  if (p) memset(p, 0, n);
  return p;
}

HAK_EXPORT void *hak_calloc(size_t nmemb, size_t size) { return hak__calloc(hak__heap(), nmemb, size); }

void *hak__realloc(hak_heap *h, void *p, size_t n) {
  if (p == NULL) return alloc_fast(h, n);
  if (n == 0) {   /* glibc: realloc(p, 0) frees p and returns NULL */
    free_fast(h, p);
    return NULL;
  }
  blk b = validate(p, "realloc");
  /* Large to large: in place, or the pages move (large.c), never a copy
   * unless the OS refuses; the copy below is the fallback. */
  if (b.s == NULL && n > HAK_MID_MAX) {
    void *q = hak__large_resize((hak_large *)b.r, n);
    if (q == p) hak_track_resize(p, b.usable, n, (n + HAK_PAGE - 1) & ~(size_t)(HAK_PAGE - 1));
    if (q != NULL) return q;   /* moved: only builds without tools move (large.c) */
  }
  /* Keep the block when the new size fits and does not waste more than
   * half of it (tiny blocks of 64 B or less are always kept). */
  if (n <= b.usable && (n >= b.usable / 2 || b.usable <= 64)) {
    hak_track_resize(p, b.usable, n, b.usable);
    return p;
  }
  void *q = alloc_fast(h, n);
  if (q == NULL) return NULL;   /* errno is ENOMEM; p is untouched */
  size_t keep = hak_track_readable(p, b.usable);
  memcpy(q, p, keep < n ? keep : n);
  free_fast(h, p);
  return q;
}

HAK_EXPORT void *hak_realloc(void *p, size_t n) { return hak__realloc(hak__heap(), p, n); }

HAK_EXPORT void *hak_reallocarray(void *p, size_t nmemb, size_t size) {
  size_t n;
  if (__builtin_mul_overflow(nmemb, size, &n)) {
    errno = ENOMEM;
    return NULL;
  }
  return hak__realloc(hak__heap(), p, n);
}

/* ---- aligned allocation -------------------------------------------------
 * Up to 64 KiB alignment for sizes up to HAK_MID_MAX, a size class whose
 * block size is a multiple of the alignment is aligned for free: slabs
 * start on 64 KiB / 256 KiB boundaries.  Beyond that a large block, whose
 * mapping is aligned to max(2 MiB, alignment). */
void *hak__alloc_aligned(hak_heap *h, size_t align, size_t n) {
  if (align <= 16) return alloc_fast(h, n);
  if (n <= HAK_MID_MAX && align <= HAK_MID_MAX) {
    unsigned cls = hak__size_class(n);
    while (hak__class_size[cls] % align != 0) cls++;
    void *p = alloc_fast(h, hak__class_size[cls]);
    if (p) hak_track_resize(p, hak__class_size[cls], n, hak__class_size[cls]);
    return p;
  }
  hak__ensure_init();
  size_t dirty;
  void *p = large_alloc_retry(h, n, align, &dirty);
  if (p) hak_track_alloc(p, n, (n + HAK_PAGE - 1) & ~(size_t)(HAK_PAGE - 1));
  return p;
}

static int is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

HAK_EXPORT int hak_posix_memalign(void **out, size_t alignment, size_t size) {
  if (!is_pow2(alignment) || alignment % sizeof(void *) != 0) return EINVAL;
  int saved = errno;
  void *p = hak__alloc_aligned(hak__heap(), alignment, size);
  if (p == NULL) {
    errno = saved;
    return ENOMEM;
  }
  *out = p;
  return 0;
}

HAK_EXPORT void *hak_aligned_alloc(size_t alignment, size_t size) {
  if (!is_pow2(alignment)) {
    errno = EINVAL;
    return NULL;
  }
  return hak__alloc_aligned(hak__heap(), alignment, size);
}

/* glibc memalign: a non-power-of-two alignment is rounded up. */
HAK_EXPORT void *hak_memalign(size_t alignment, size_t size) {
  if (alignment > ((size_t)1 << (sizeof(size_t) * 8 - 2))) {
    errno = EINVAL;
    return NULL;
  }
  if (!is_pow2(alignment)) alignment = alignment ? (size_t)1 << (64 - __builtin_clzl(alignment)) : 16;
  return hak__alloc_aligned(hak__heap(), alignment, size);
}

HAK_EXPORT void *hak_valloc(size_t size) { return hak__alloc_aligned(hak__heap(), HAK_PAGE, size); }

HAK_EXPORT void *hak_pvalloc(size_t size) {
  size_t rounded = (size + HAK_PAGE - 1) & ~(size_t)(HAK_PAGE - 1);
  if (rounded < size) {
    errno = ENOMEM;
    return NULL;
  }
  return hak__alloc_aligned(hak__heap(), HAK_PAGE, rounded ? rounded : HAK_PAGE);
}

/* ---- malloc & co. under their libc names --------------------------------
 * So libhakmem.so replaces the allocator of a whole process under
 * LD_PRELOAD, and libhakmem.a when linked statically.  Aliases, not
 * wrappers (an alias must live in the file defining its target): no extra
 * call on the fast path.  -DHAK_NO_OVERRIDE leaves them out; the sanitizer
 * and fuzzer builds need that because ASan owns malloc there. */
#ifndef HAK_NO_OVERRIDE
#define ALIAS(name) __attribute__((alias(#name), used, visibility("default")))

void  *malloc(size_t size) ALIAS(hak_malloc);
void   free(void *p) ALIAS(hak_free);
void  *calloc(size_t nmemb, size_t size) ALIAS(hak_calloc);
void  *realloc(void *p, size_t size) ALIAS(hak_realloc);
void  *reallocarray(void *p, size_t nmemb, size_t size) ALIAS(hak_reallocarray);
int    posix_memalign(void **out, size_t alignment, size_t size) ALIAS(hak_posix_memalign);
void  *aligned_alloc(size_t alignment, size_t size) ALIAS(hak_aligned_alloc);
void  *memalign(size_t alignment, size_t size) ALIAS(hak_memalign);
void  *valloc(size_t size) ALIAS(hak_valloc);
void  *pvalloc(size_t size) ALIAS(hak_pvalloc);
size_t malloc_usable_size(void *p) ALIAS(hak_malloc_usable_size);
void   free_sized(void *p, size_t size) ALIAS(hak_free_sized);
void   free_aligned_sized(void *p, size_t alignment, size_t size) ALIAS(hak_free_aligned_sized);
/* glibc-internal names some programs and libraries call directly. */
void  *__libc_malloc(size_t size) ALIAS(hak_malloc);
void   __libc_free(void *p) ALIAS(hak_free);
void  *__libc_calloc(size_t nmemb, size_t size) ALIAS(hak_calloc);
void  *__libc_realloc(void *p, size_t size) ALIAS(hak_realloc);
void  *__libc_memalign(size_t alignment, size_t size) ALIAS(hak_memalign);
void   cfree(void *p) ALIAS(hak_free);
#endif
