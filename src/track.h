/* Telling the bug-finding tools about block lifetimes.
 *
 * One set of hooks, mapped per build to ASan poisoning, MSan's
 * "allocated memory is uninitialised", TSan happens-before edges and
 * Valgrind client requests, and to nothing at all in release:
 *   hak_track_alloc(p, req, usable)  block handed to the program: exactly
 *                                    req bytes become addressable
 *   hak_track_free(p, usable)        block taken back: nothing addressable
 *   hak_track_resize(p, old, new)    in-place realloc
 * The core itself reads and writes words of FREE blocks (free-list links,
 * the double-free key).  It does so only through hak__word_load/store,
 * which the sanitizers do not instrument, so the allocator can keep free
 * blocks poisoned without reporting itself.
 * Selection: ASan/MSan/TSan are detected from the compiler; Valgrind
 * requests are compiled in with -DHAK_TRACK_VALGRIND=1.  -DHAK_NO_TRACK
 * turns all of it off. */
#ifndef HAK_TRACK_H
#define HAK_TRACK_H

#include "config.h"

#if defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define HAK__ASAN 1
#  endif
#  if __has_feature(memory_sanitizer)
#    define HAK__MSAN 1
#  endif
#  if __has_feature(thread_sanitizer)
#    define HAK__TSAN 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#  define HAK__ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#  define HAK__TSAN 1
#endif
#ifdef HAK_NO_TRACK
#  undef HAK__ASAN
#  undef HAK__MSAN
#  undef HAK__TSAN
#  undef HAK_TRACK_VALGRIND
#endif

#ifdef HAK__ASAN
#  include <sanitizer/asan_interface.h>
#endif
#ifdef HAK__MSAN
#  include <sanitizer/msan_interface.h>
#endif
#ifdef HAK__TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#endif
#if defined(HAK_TRACK_VALGRIND) && HAK_TRACK_VALGRIND
#  include <valgrind/memcheck.h>
#  define HAK__VG 1
#endif

#define HAK_NO_SANITIZE \
  __attribute__((no_sanitize("address", "memory", "thread", "undefined"))) __attribute__((noinline))

/* Word i of a block the allocator owns (free, cached or in a queue).
 * Word 0 is the block's list link (slab free list or remote queue) and is
 * stored encoded, safe-linking style: xor'ed with the block's own address
 * shifted right by 12 and a per-process secret.  A use-after-free write or
 * an overflow that plants a pointer (or zero) there decodes to garbage,
 * which the pop/drain validation rejects with a message instead of
 * handing out memory that is not a free block.  Word 1 holds the
 * double-free key (alloc.c). */
extern uintptr_t hak__link_key;
HAK_INLINE uintptr_t hak__link_mask(const void *block, int i) {
  return (HAK_HARDEN && i == 0) ? (((uintptr_t)block >> 12) ^ hak__link_key) : 0;
}
#if defined(HAK__ASAN) || defined(HAK__MSAN) || defined(HAK__TSAN) || defined(HAK__VG)
uintptr_t hak__word_load_raw(const void *block, int i);
void      hak__word_store_raw(void *block, int i, uintptr_t v);
#else
HAK_INLINE uintptr_t hak__word_load_raw(const void *block, int i) { return ((const uintptr_t *)block)[i]; }
HAK_INLINE void hak__word_store_raw(void *block, int i, uintptr_t v) { ((uintptr_t *)block)[i] = v; }
#endif
HAK_INLINE uintptr_t hak__word_load(const void *block, int i) {
  uintptr_t v = hak__word_load_raw(block, i) ^ hak__link_mask(block, i);
#ifdef HAK__VG
  /* free reads word 1 of a LIVE block to test for the double-free key:
   * the program may never have written it, and memcheck would report the
   * branch on it; the comparison is meant to see whatever is there. */
  (void)VALGRIND_MAKE_MEM_DEFINED(&v, sizeof v);
#endif
  return v;
}
HAK_INLINE void hak__word_store(void *block, int i, uintptr_t v) {
  hak__word_store_raw(block, i, v ^ hak__link_mask(block, i));
}

#ifdef HAK__VG
/* Bytes of p memcheck holds addressable, at most usable: the requested size
 * of a live block.  memcheck has no query for it (MALLOCLIKE_BLOCK knows),
 * but GET_VBITS answers 3, without a report, for an unaddressable byte. */
HAK_INLINE size_t hak__vg_addressable(const void *p, size_t usable) {
  unsigned char bits;
  while (usable > 0 && VALGRIND_GET_VBITS((const char *)p + usable - 1, &bits, 1) == 3) usable--;
  return usable;
}
#endif

HAK_INLINE void hak_track_alloc(void *p, size_t req, size_t usable) {
  (void)p; (void)req; (void)usable;
#ifdef HAK__ASAN
  __asan_unpoison_memory_region(p, req);
  if (usable > req) __asan_poison_memory_region((char *)p + req, usable - req);
#endif
#ifdef HAK__MSAN
  __msan_allocated_memory(p, usable);
#endif
#ifdef HAK__TSAN
  __tsan_acquire(p);
#endif
#ifdef HAK__VG
  VALGRIND_MALLOCLIKE_BLOCK(p, req, 0, 0);
  /* the slack is not the program's (a fresh large mapping is addressable) */
  if (usable > req) VALGRIND_MAKE_MEM_NOACCESS((char *)p + req, usable - req);
#endif
}

HAK_INLINE void hak_track_free(void *p, size_t usable) {
  (void)p; (void)usable;
#ifdef HAK__TSAN
  __tsan_release(p);
#endif
#ifdef HAK__ASAN
  __asan_poison_memory_region(p, usable);
#endif
#ifdef HAK__VG
  VALGRIND_FREELIKE_BLOCK(p, 0);
#endif
}

HAK_INLINE void hak_track_resize(void *p, size_t old_req, size_t new_req, size_t usable) {
  (void)p; (void)old_req; (void)new_req; (void)usable;
#ifdef HAK__ASAN
  __asan_poison_memory_region(p, usable);
  __asan_unpoison_memory_region(p, new_req);
#endif
#ifdef HAK__VG
  /* memcheck insists on the old requested size; the core passes the usable
   * size (it does not keep requests) */
  if (new_req == 0) {   /* memcheck refuses a resize to 0: hand it out again */
    VALGRIND_FREELIKE_BLOCK(p, 0);
    VALGRIND_MALLOCLIKE_BLOCK(p, 0, 0, 0);
    VALGRIND_MAKE_MEM_NOACCESS(p, usable);
  } else {
    VALGRIND_RESIZEINPLACE_BLOCK(p, hak__vg_addressable(p, old_req), new_req, 0);
  }
#endif
}

/* calloc handed out n bytes the OS already zeroed (a fresh mapping) and so
 * skipped the memset: they are initialised, whatever hak_track_alloc said. */
HAK_INLINE void hak_track_zeroed(void *p, size_t n) {
  (void)p; (void)n;
#ifdef HAK__MSAN
  __msan_unpoison(p, n);
#endif
#ifdef HAK__VG
  (void)VALGRIND_MAKE_MEM_DEFINED(p, n);
#endif
}

/* A slab is about to be cut into blocks of a class: none of its bytes is
 * the program's until a block is handed out, so an overflow off the end of
 * a block into a neighbour that was never handed out is seen too. */
HAK_INLINE void hak_track_reserve(void *p, size_t size) {
  (void)p; (void)size;
#ifdef HAK__ASAN
  __asan_poison_memory_region(p, size);
#endif
#ifdef HAK__VG
  VALGRIND_MAKE_MEM_NOACCESS(p, size);
#endif
}

/* malloc_usable_size(p) was asked: glibc lets the program use every usable
 * byte from then on, so they all become addressable (ASan). */
HAK_INLINE void hak_track_usable(void *p, size_t usable) {
  (void)p; (void)usable;
#ifdef HAK__ASAN
  __asan_unpoison_memory_region(p, usable);
#endif
#ifdef HAK__VG
  size_t req = hak__vg_addressable(p, usable);
  if (req < usable) VALGRIND_RESIZEINPLACE_BLOCK(p, req, usable, 0);
#endif
}

/* ASan quarantine (quarantine.c): hak_free parks blocks there so a freed
 * block is not handed out again at once; 1 when p was taken. */
#ifdef HAK__ASAN
#  define HAK_QUARANTINE 1
int hak__quarantine_put(void *p);
void hak__quarantine_flush(void);
#else
#  define HAK_QUARANTINE 0
HAK_INLINE int hak__quarantine_put(void *p) { (void)p; return 0; }
HAK_INLINE void hak__quarantine_flush(void) {}
#endif

/* A range goes back to the OS.  ASan's shadow outlives the mapping: clear
 * it, or whatever is mapped there next (ours or the program's) inherits
 * the poison of the blocks that used to live there. */
HAK_INLINE void hak_track_unmapped(void *p, size_t size) {
  (void)p; (void)size;
#ifdef HAK__ASAN
  __asan_unpoison_memory_region(p, size);
#endif
}

/* Bytes of a live block the program may legitimately read, for realloc's
 * copy: under ASan exactly the requested size, else the usable size. */
HAK_INLINE size_t hak_track_readable(const void *p, size_t usable) {
#ifdef HAK__ASAN
  const void *bad = __asan_region_is_poisoned((void *)p, usable);
  if (bad) return (size_t)((const char *)bad - (const char *)p);
#endif
#ifdef HAK__VG
  usable = hak__vg_addressable(p, usable);   /* realloc copies only program bytes */
#endif
  (void)p;
  return usable;
}

#endif
