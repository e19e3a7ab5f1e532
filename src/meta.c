/* Metadata storage: region descriptors live in pools of their own mappings,
 * never inside user memory, so a heap overflow cannot reach them.
 * Two fixed-size pools (segment descriptors, large-block descriptors), each
 * a LIFO of free objects refilled 64 KiB at a time.  Descriptors are
 * recycled, never returned to the OS: their number is bounded by the peak
 * number of regions.  Slow path only, under one lock per pool. */
#include <errno.h>
#include <string.h>
#include "internal.h"

typedef struct meta_pool {
  hak_lock lock;
  size_t   obj_size;
  void    *free;       /* LIFO of free objects, link in the first word */
} meta_pool;

static meta_pool seg_pool = { { 0 }, (sizeof(hak_segment) + 63) & ~(size_t)63, NULL };
static meta_pool large_pool = { { 0 }, (sizeof(hak_large) + 63) & ~(size_t)63, NULL };

#define META_CHUNK ((size_t)64 << 10)

static void *pool_get(meta_pool *mp) {
  hak_lock_acquire(&mp->lock);
  if (mp->free == NULL) {
    char *chunk = hak__os_map(META_CHUNK, HAK_PAGE);
    if (chunk == NULL) {
      hak_lock_release(&mp->lock);
      errno = ENOMEM;
      return NULL;
    }
    for (size_t off = 0; off + mp->obj_size <= META_CHUNK; off += mp->obj_size) {
      *(void **)(chunk + off) = mp->free;
      mp->free = chunk + off;
    }
  }
  void *o = mp->free;
  mp->free = *(void **)o;
  hak_lock_release(&mp->lock);
  memset(o, 0, mp->obj_size);
  return o;
}

static void pool_put(meta_pool *mp, void *o) {
  memset(o, 0, mp->obj_size);   /* a stale descriptor must not look valid */
  hak_lock_acquire(&mp->lock);
  *(void **)o = mp->free;
  mp->free = o;
  hak_lock_release(&mp->lock);
}

hak_segment *hak__meta_segment_new(void) { return pool_get(&seg_pool); }
void hak__meta_segment_free(hak_segment *s) { pool_put(&seg_pool, s); }
hak_large *hak__meta_large_new(void) { return pool_get(&large_pool); }
void hak__meta_large_free(hak_large *l) { pool_put(&large_pool, l); }

void hak__meta_lock_all(void) {
  hak_lock_acquire(&seg_pool.lock);
  hak_lock_acquire(&large_pool.lock);
}
void hak__meta_unlock_all(int child) {
  if (child) {
    hak_lock_reset(&large_pool.lock);
    hak_lock_reset(&seg_pool.lock);
  } else {
    hak_lock_release(&large_pool.lock);
    hak_lock_release(&seg_pool.lock);
  }
}
