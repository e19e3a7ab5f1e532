/* sanitizers/hak_names.h: point a program's malloc & co. at hakmem in the
 * sanitizer builds, where the core is compiled with -DHAK_NO_OVERRIDE (the
 * sanitizer runtime owns the libc names) and is reached only as hak_*.
 *
 *   cc -include sanitizers/hak_names.h -Iinclude prog.c build/san-asan-clang/libhakmem.a
 *
 * The libc headers that declare these functions are included first, under
 * the real names (their prototypes differ slightly from hakmem.h, e.g.
 * malloc_usable_size(void *)); only then are the names redirected, so every
 * later call (and every use as a function pointer) reaches hakmem.
 * Memory that libc allocates internally (strdup, getline, asprintf, ...)
 * still comes from the sanitizer's malloc: a program must not free it with
 * the redirected free (hakmem rejects it as "not allocated by hakmem").
 * C only: in C++, std::malloc would become std::hak_malloc. */
#ifndef HAK_SANITIZERS_HAK_NAMES_H
#define HAK_SANITIZERS_HAK_NAMES_H
#ifdef __cplusplus
#error "sanitizers/hak_names.h is for C programs"
#endif

#include <stdlib.h>
#include <malloc.h>
#include "hakmem.h"

#define malloc             hak_malloc
#define free               hak_free
#define calloc             hak_calloc
#define realloc            hak_realloc
#define reallocarray       hak_reallocarray
#define posix_memalign     hak_posix_memalign
#define aligned_alloc      hak_aligned_alloc
#define memalign           hak_memalign
#define valloc             hak_valloc
#define pvalloc            hak_pvalloc
#define malloc_usable_size hak_malloc_usable_size
#define free_sized         hak_free_sized
#define free_aligned_sized hak_free_aligned_sized

#endif
