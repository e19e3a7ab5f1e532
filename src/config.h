/* Build configuration shared by every core file.
 *
 * One core, one struct layout: a build differs only in HAK_CHECK_LEVEL and
 * in hooks that compile to nothing in release.
 *   HAK_CHECK_LEVEL 0  release: no internal asserts (misuse checks with
 *                      fixed messages stay on: they are not debug code)
 *   HAK_CHECK_LEVEL 1  hak_assert: cheap internal asserts
 *   HAK_CHECK_LEVEL 2  + hak_assert_internal and OS failure injection
 *   HAK_CHECK_LEVEL 3  + hak_assert_expensive: the heap checker after every
 *                      slow-path operation */
#ifndef HAK_CONFIG_H
#define HAK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#ifndef HAK_CHECK_LEVEL
#define HAK_CHECK_LEVEL 0
#endif

/* HAK_HARDEN 1 (default, every build): misuse checks that stay on in
 * release: the double-free key on the fast paths and encoded (safe-linked)
 * free-list links.  0 exists only to measure what they cost (bench/). */
#ifndef HAK_HARDEN
#define HAK_HARDEN 1
#endif

#define HAK_LIKELY(x)   __builtin_expect(!!(x), 1)
#define HAK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HAK_NOINLINE    __attribute__((noinline))
#define HAK_COLD        __attribute__((noinline, cold))
#define HAK_INLINE      static inline __attribute__((always_inline))
#define HAK_EXPORT      __attribute__((visibility("default")))
#define HAK_NORETURN    __attribute__((noreturn))
#define HAK_PRINTF(a, b) __attribute__((format(printf, a, b)))

void hak__assert_fail(const char *cond, const char *file, int line) HAK_NORETURN HAK_COLD;

#define hak__assert_at(level, c) \
  ((HAK_CHECK_LEVEL >= (level) && HAK_UNLIKELY(!(c))) ? hak__assert_fail(#c, __FILE__, __LINE__) : (void)0)
#define hak_assert(c)           hak__assert_at(1, c)
#define hak_assert_internal(c)  hak__assert_at(2, c)
#define hak_assert_expensive(c) hak__assert_at(3, c)

/* ---- geometry ------------------------------------------------------------
 * The address-space map works in 2 MiB granules; every region hakmem maps
 * (tiny segment, mid chunk, large block) starts on a granule boundary, so a
 * granule belongs to at most one region. */
#define HAK_GRANULE_SHIFT   21
#define HAK_GRANULE         ((size_t)1 << HAK_GRANULE_SHIFT)
#define HAK_PAGE            4096u
#define HAK_TINY_SEG_SIZE   HAK_GRANULE          /* tiny segment: 2 MiB ...       */
#define HAK_TINY_SLAB_SHIFT 16                   /* ... of 32 slabs of 64 KiB     */
#define HAK_MID_SLAB_SHIFT  18                   /* mid chunk: slabs of 256 KiB   */
#define HAK_SEG_MAX_SLABS   32                   /* 8 MiB mid chunk / 256 KiB     */
#define HAK_MID_CHUNK_MAX   ((size_t)HAK_SEG_MAX_SLABS << HAK_MID_SLAB_SHIFT)
/* The largest request or alignment that could ever be mapped.  User space
 * is 47 bits on x86-64 with 4-level paging; with 5-level paging (la57) it
 * is 56 bits, but the kernel maps above 2^47 only where a hint asks for it.
 * AArch64 kernels give 48 bits by default, 39 or 42 in some configurations,
 * 52 (LVA) again only for hinted maps.  hakmem's hints stay below 2^47 and
 * its address map covers 2^48 (segmap.c), so no request above 2^47 can be
 * served; it fails at once with ENOMEM and, above all, without emptying
 * the caches first in the hope that a retry succeeds.  HAKMEM_LARGE_MAX
 * (options.c) sets the per-request limit actually used, by default what
 * RAM + swap could back. */
#define HAK_LARGE_MAX       (((size_t)1 << 47) - 2 * HAK_GRANULE)
#define HAK_LARGE_ALIGN_MAX ((size_t)1 << 40)

/* ---- first touch ----------------------------------------------------------
 * A page fault costs ~20 us on the VMs hakmem is measured on.  Slabs are
 * prefaulted HAK_POPULATE_CHUNK at a time as they are carved (slab.c), and
 * segments mapped once the process already has HAK_HUGEPAGE_AFTER bytes
 * mapped are advised for transparent huge pages (HAKMEM_HUGEPAGES=1): a
 * big heap fills its segments anyway, a small one would pay 2 MiB of
 * resident memory for each page it touches. */
#define HAK_POPULATE_CHUNK  ((uintptr_t)16 << 10)
#define HAK_HUGEPAGE_AFTER  ((uint64_t)32 << 20)

/* ---- size classes (see sizeclass.c for the reasoning) --------------------*/
#define HAK_TINY_CLASSES 20
#define HAK_MID_CLASSES  24
#define HAK_NCLASS       (HAK_TINY_CLASSES + HAK_MID_CLASSES)
#define HAK_CLS_NONE     0xff

/* ---- thread cache -------------------------------------------------------*/
#define HAK_CACHE_MIN       16u
#define HAK_CACHE_MAX       2048u
#define HAK_CACHE_CLASS_BYTES ((size_t)1 << 20)  /* cap_max = bytes / size, clamped */
#define HAK_REFILL_BATCH_BYTES ((size_t)16 << 10) /* most one refill fetches (slab.c) */

#endif
