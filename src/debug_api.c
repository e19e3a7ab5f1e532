/* The instruments' entry points (hakmem_debug.h): every operation performed
 * "as" an explicit heap.  A heap used this way need not be bound to the
 * calling thread; freeing a block another heap owns takes the remote path
 * exactly as a free from another thread would. */
#include <errno.h>
#include "internal.h"

static hak_heap *real(hak_heap *h) { return h ? h : hak__heap_for_thread(); }

HAK_EXPORT void *hak_heap_malloc(hak_heap *h, size_t size) {
  hak__ensure_init();
  return hak__alloc(real(h), size);
}

HAK_EXPORT void *hak_heap_calloc(hak_heap *h, size_t nmemb, size_t size) {
  hak__ensure_init();
  return hak__calloc(real(h), nmemb, size);
}

HAK_EXPORT void *hak_heap_realloc(hak_heap *h, void *p, size_t size) {
  hak__ensure_init();
  return hak__realloc(real(h), p, size);
}

HAK_EXPORT void *hak_heap_aligned_alloc(hak_heap *h, size_t alignment, size_t size) {
  hak__ensure_init();
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    errno = EINVAL;
    return NULL;
  }
  return hak__alloc_aligned(real(h), alignment, size);
}

HAK_EXPORT void hak_heap_free(hak_heap *h, void *p) { hak__free(h ? h : &hak__empty_heap, p); }

HAK_EXPORT void hak_heap_drain(hak_heap *h) { hak__drain(h); }

HAK_EXPORT void hak_heap_collect(hak_heap *h) {
  hak__drain(h);
  hak__cache_flush_all(h);
  hak__release_empty_slabs(h);
}
