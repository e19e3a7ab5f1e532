/* hakmem: a correctness-first general-purpose allocator.
 *
 * Public API for direct linking.  The same functions are exported under
 * their libc names (malloc, free, ...) by libhakmem.so / libhakmem.a, so a
 * program normally uses hakmem through LD_PRELOAD or static linking and
 * never includes this header.  Semantics follow glibc exactly:
 *   - hak_malloc(0) returns a unique, freeable pointer;
 *   - impossible sizes and multiplication overflow return NULL, errno ENOMEM;
 *   - hak_realloc(p, 0) frees p and returns NULL (glibc behaviour);
 *     on failure it returns NULL and leaves p untouched;
 *   - hak_posix_memalign returns EINVAL for an alignment that is not a power
 *     of two multiple of sizeof(void *) and leaves *out alone;
 *   - every pointer returned is at least 16-byte aligned.
 * Misuse (double free, free of a pointer hakmem did not return, ...) prints
 * one fixed line "hakmem: <what> of 0x..." to stderr and aborts. */
#ifndef HAKMEM_H
#define HAKMEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void  *hak_malloc(size_t size);
void   hak_free(void *p);
void  *hak_calloc(size_t nmemb, size_t size);
void  *hak_realloc(void *p, size_t size);
void  *hak_reallocarray(void *p, size_t nmemb, size_t size);
int    hak_posix_memalign(void **out, size_t alignment, size_t size);
void  *hak_aligned_alloc(size_t alignment, size_t size);
void  *hak_memalign(size_t alignment, size_t size);
void  *hak_valloc(size_t size);
void  *hak_pvalloc(size_t size);
size_t hak_malloc_usable_size(const void *p);
/* C23: the size (and alignment) passed must be those of the allocation. */
void   hak_free_sized(void *p, size_t size);
void   hak_free_aligned_sized(void *p, size_t alignment, size_t size);

#ifdef __cplusplus
}
#endif
#endif
