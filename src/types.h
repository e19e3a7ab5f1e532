/* Every struct of the core, with its invariants.  The checker (check.c)
 * verifies each invariant written here; keep the two in step.
 *
 * Memory is organised in REGIONS, each a mapping that starts on a 2 MiB
 * granule boundary and is described by metadata kept OUTSIDE the region
 * (meta.c), so user overflows cannot reach allocator metadata:
 *   - a tiny segment (2 MiB) is cut into 32 slabs of 64 KiB, one size class
 *     each, for requests up to 1024 B;
 *   - a mid chunk (1, 2, 4 or 8 MiB, growing per heap) is cut into slabs of
 *     256 KiB for requests up to 64 KiB;
 *   - a large block is the front of a span of whole granules, recycled
 *     (split and merged) through BigCache, the span cache of large.c.
 * The address-space map (segmap.c) sends every granule to its region
 * descriptor, so free() classifies any pointer in O(1) without touching
 * memory that may not be hakmem's. */
#ifndef HAK_TYPES_H
#define HAK_TYPES_H

#include "config.h"
#include "atomic.h"
#include "hakmem_debug.h"

enum hak_region_kind { HAK_REGION_TINY = 1, HAK_REGION_MID = 2, HAK_REGION_LARGE = 3 };
#define HAK_REGION_MAGIC 0x48414b4du /* "HAKM"; stored xor'ed with the kind */

/* Common head of every region descriptor; the address-space map points here.
 * Invariants:
 *   base is granule-aligned; size > 0; magic == HAK_REGION_MAGIC ^ kind;
 *   every granule of [base, base+size) maps to this descriptor and no other
 *   granule does (a large block: of [base, base+span), size <= span);
 *   owner is the heap whose slabs these are (segments), NULL for a segment
 *   parked in the segment cache and for every large block;
 *   next/prev: the list is doubly linked and NULL-terminated (prev of its
 *   head is NULL, each region's prev is the one before it), so it has no
 *   cycle and is at most one region per unit of mapped memory long. */
typedef struct hak_region {
  uintptr_t          base;
  size_t             size;
  hak_heap          *owner;
  uint32_t           magic;
  uint8_t            kind;
  uint8_t            slab_shift;  /* segments: log2 of the slab size */
  uint8_t            nslabs;      /* segments: slabs in the region */
  uint8_t            flags;       /* HAK_REGION_FRESH: never handed out since mapping */
  struct hak_region *next, *prev; /* list the region is on (heap, cache, large) */
} hak_region;
#define HAK_REGION_FRESH 1u

/* A slab: one size class in a 64 KiB (tiny) or 256 KiB (mid) piece of a
 * segment.  Owner-private: only the owning heap's thread touches it.
 * Every block index i < capacity is in exactly ONE of these states:
 *   UNCARVED  i >= carved
 *   FREE      on this slab's free list (link in the block's first word)
 *   CACHED    in the owner heap's thread cache
 *   REMOTE    on the owner heap's remote-free queue
 *   LIVE      handed to the program
 * Counts: carved == used + |free list|;  used == live + cached + remote;
 * capacity == slab size / block_size.  A slab with capacity == 0 is unused
 * (its bit is set in the segment's free_slabs).
 * state PARTIAL <=> the slab is on heap->partial[cls] (it may hand out
 * blocks); state FULL => free == NULL and carved == capacity. */
enum hak_slab_state { HAK_SLAB_UNUSED = 0, HAK_SLAB_PARTIAL = 1, HAK_SLAB_FULL = 2 };
typedef struct hak_slab {
  void            *free;        /* local free list */
  uintptr_t        start;       /* address of block 0 */
  uint64_t         recip;       /* floor(2^40 / block_size) + 1: index = off * recip >> 40 */
  struct hak_slab *next, *prev; /* heap->partial[cls] list */
  uint32_t         block_size;
  uint16_t         capacity;
  uint16_t         carved;
  uint16_t         used;
  uint8_t          cls;
  uint8_t          state;
  uint32_t         check_mark;  /* scratch index for the checker */
  uint32_t         reserved;
} hak_slab;

/* A tiny segment or a mid chunk.  populated: bit i set once the i-th
 * HAK_POPULATE_CHUNK of the mapping has been prefaulted; hakmem never
 * decommits a mapped segment, so the bit stays true while it is mapped,
 * through slab reuse and the segment cache (owner-private like the slabs;
 * a cached segment has no owner and nobody touches it). */
#define HAK_SEG_POPULATE_WORDS (HAK_MID_CHUNK_MAX / HAK_POPULATE_CHUNK / 64)
typedef struct hak_segment {
  hak_region r;
  uint32_t   free_slabs;        /* bit i set: slab i unused */
  uint32_t   reserved;
  hak_slab   slabs[HAK_SEG_MAX_SLABS];
  uint64_t   populated[HAK_SEG_POPULATE_WORDS];
} hak_segment;

/* A large block, or a cached span of address space (large.c has the
 * whole story and the invariants).  The region's granules are those of
 * [base, base+span); r.size is the usable size of a live block (<= span)
 * and the span itself for a cached one.  dirty: a prefix of the span that
 * may hold non-zero resident pages; the rest reads as zero. */
enum hak_large_state { HAK_LARGE_LIVE = 1, HAK_LARGE_CACHED = 2 };
typedef struct hak_large {
  hak_region        r;
  size_t            span;       /* bytes of address space, a granule multiple */
  size_t            mapped;     /* bytes mapped from base: span, or less below a granule */
  size_t            dirty;      /* page multiple <= mapped */
  uint64_t          last_use;   /* cached: large.c's operation count when parked */
  uint32_t          state;      /* enum hak_large_state; 0 while being unmapped */
  uint32_t          reserved;
  struct hak_large *lru_next, *lru_prev;
} hak_large;

/* One class of the thread cache: a stack of block pointers.
 * Invariant: count <= cap <= cap_max(cls); every slot holds a distinct
 * block of a slab of this class owned by the heap, in state CACHED. */
typedef struct hak_tcache {
  void   **slots;
  uint32_t count;
  uint32_t cap;
} hak_tcache;

/* ORPHANED: in a fork child, the heap of a thread that does not exist
 * there; it may have been frozen mid-operation, so it is never used,
 * adopted or checked again (frees into it just leak in the child). */
enum hak_heap_state { HAK_HEAP_OWNED = 1, HAK_HEAP_ABANDONED = 2, HAK_HEAP_DEAD = 3, HAK_HEAP_ORPHANED = 4 };

/* A heap: all allocation state of one (logical) thread.
 * The thread cache is the only layer in front of the slabs.  Remote frees
 * (from threads not owning the block) are pushed lock-free onto `remote`;
 * the owner takes the whole queue with one atomic exchange (drain) before
 * it pops any slab free list, so a block is never on a free list and the
 * remote queue at once.  Segment lists: per region kind, `avail` holds
 * segments with an unused slab, `full` those without. */
struct hak_heap {
  hak_tcache     cache[HAK_NCLASS];           /* hot: the fast paths touch only this */
  uintptr_t      free_key;                    /* written into word 1 of a freed block */
  hak_atomic_ptr remote __attribute__((aligned(64)));
  char           pad_remote[56];
  hak_slab      *partial[HAK_NCLASS];
  hak_region    *avail[2], *full[2];          /* indexed by kind - 1 (tiny, mid) */
  uint16_t       refill_since_overflow[HAK_NCLASS];
  uint32_t       mid_chunks;                  /* mid chunks mapped so far (growth level) */
  uint32_t       state;                       /* enum hak_heap_state */
  uint32_t       id;
  uint32_t       key_registered;              /* thread-exit destructor installed */
  uint32_t       bound;                       /* bound to some thread's TLS */
  hak_heap      *next_all;                    /* global list of heaps */
  hak_heap      *next_list;                   /* abandoned / dead list */
  size_t         map_size;                    /* bytes of the heap's own mapping */
  /* check builds (check.c hak_check_changed): changed since its last clean
   * check; its print and segment count then.  In every build: one layout. */
  hak_atomic_u32 check_dirty;
  uint32_t       check_nsegs;
  uint64_t       check_print;
};

#endif
