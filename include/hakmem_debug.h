/* hakmem internal API for the instruments (fuzz/, props/, repro/, tests/).
 *
 * Explicit heaps: all allocation state lives in a hak_heap.  A thread is
 * bound to one heap through a thin thread-local pointer; these functions let
 * one OS thread create several heaps and act "as" any of them, so that
 * cross-thread (remote) frees, draining and thread exit become deterministic
 * and replayable.  None of this is on the malloc/free fast path.
 *
 * Threading contract: a heap is used by one thread at a time (its owner).
 * hak_heap_free(h, p) with p owned by another heap takes the remote path,
 * which is safe from any thread.  The checker and the visitor read a heap's
 * private state: call them from the heap's owner while no other thread is
 * pushing remote frees into it (instruments drive everything from one OS
 * thread or quiesce first). */
#ifndef HAKMEM_DEBUG_H
#define HAKMEM_DEBUG_H

#include <stddef.h>
#include <stdint.h>
#include "hakmem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hak_heap hak_heap;

/* ---- heaps ------------------------------------------------------------ */
hak_heap *hak_heap_new(void);            /* a fresh heap bound to no thread; NULL + ENOMEM on failure */
hak_heap *hak_heap_current(void);        /* the calling thread's heap (created on first use) */
hak_heap *hak_heap_bind(hak_heap *h);    /* bind the calling thread to h, return the previous binding
                                            (h == NULL unbinds; the next allocation then creates/adopts) */
void      hak_heap_abandon(hak_heap *h); /* what thread exit does: cached blocks go back to their slabs,
                                            remote frees are drained, empty segments are released, and the
                                            heap (with its remaining slabs) waits to be adopted */
hak_heap *hak_heap_adopt(void);          /* take over an abandoned heap (oldest first); NULL if none */
void      hak_heap_destroy(hak_heap *h); /* release every segment the heap holds, including its live tiny
                                            and mid blocks; the heap object is recycled.  Large blocks are
                                            not owned by heaps and stay until freed (hak_debug_reset frees
                                            them).  h must not be bound to any thread. */
unsigned  hak_heap_id(const hak_heap *h);/* small stable number, for reports */

/* Operations performed "as" heap h (as if by the thread bound to h). */
void  *hak_heap_malloc(hak_heap *h, size_t size);
void  *hak_heap_calloc(hak_heap *h, size_t nmemb, size_t size);
void  *hak_heap_realloc(hak_heap *h, void *p, size_t size);
void  *hak_heap_aligned_alloc(hak_heap *h, size_t alignment, size_t size);
void   hak_heap_free(hak_heap *h, void *p);   /* remote path when p is owned by another heap */
void   hak_heap_drain(hak_heap *h);           /* collect h's remote-free queue into its slabs */
void   hak_heap_collect(hak_heap *h);         /* drain, flush the thread cache back to the slabs, and
                                                 release h's empty slabs and segments ("segment release") */

/* Trim global caches: empty segments kept for reuse and BigCache. */
void   hak_trim(void);
/* Destroy every heap not bound to a thread and free every live large block:
 * resets allocator state between fuzz inputs.  The bounded caches (empty
 * segments, BigCache) keep their memory (hak_trim gives it back).  Single-threaded use
 * only, and only where nothing else uses hakmem (HAK_NO_OVERRIDE builds). */
void   hak_debug_reset(void);

/* ---- checker ---------------------------------------------------------- */
/* Return 0 when every invariant holds, else -1 and a description of the
 * first violation in msg (NUL-terminated, truncated to len).
 * hak_heap_check: the heap's segments, slabs, free lists, thread cache and
 * remote queue (disjointness, counts, link validity, metadata integrity).
 * hak_check_all: every heap, large blocks, BigCache, the segment cache and
 * the address-space map.
 * hak_check_changed: what hak_check_all checks, less what cannot have
 * changed through the core since the last clean hak_check_all or
 * hak_check_changed: a heap no operation wrote is skipped, and the global
 * structures are checked (with every heap) only when one of them changed.
 * A skipped heap is still fingerprinted (cache counts and capacities,
 * list heads, queue); a print that moved is checked in full, and reported
 * as "changed without being marked" if it then passes (a core path that
 * writes a heap without noting it).  A stray write into a structure no
 * operation touched is seen only by hak_check_all.  Builds without the
 * change notes (release, the scheduler and model-checker builds) run
 * hak_check_all. */
int hak_heap_check(hak_heap *h, char *msg, size_t len);
int hak_check_all(char *msg, size_t len);
int hak_check_changed(char *msg, size_t len);

/* ---- classification and visiting --------------------------------------- */
enum hak_tier  { HAK_TIER_NONE = 0, HAK_TIER_TINY = 1, HAK_TIER_MID = 2, HAK_TIER_LARGE = 3 };
enum hak_state {
  HAK_BLOCK_LIVE = 0,      /* handed to the program */
  HAK_BLOCK_CACHED = 1,    /* in the owner heap's thread cache */
  HAK_BLOCK_FREE = 2,      /* on its slab's local free list */
  HAK_BLOCK_REMOTE = 3,    /* on the owner heap's remote-free queue */
  HAK_BLOCK_UNCARVED = 4,  /* slab memory not yet cut into blocks */
  HAK_BLOCK_BIGCACHE = 5   /* large block parked in BigCache */
};

typedef struct hak_block_info {
  void          *block;      /* start of the block containing the address */
  size_t         usable;     /* usable size of that block */
  int            tier;       /* enum hak_tier */
  int            cls;        /* size class (tiny/mid), -1 for large */
  hak_heap      *owner;      /* owning heap (NULL for large blocks) */
  int            interior;   /* 1 when the address is not the block start */
} hak_block_info;

/* Classify an address from the address-space map alone (never touches
 * memory that is not hakmem's).  Returns 1 and fills *out when the address
 * lies inside a block of a hakmem slab or large mapping, else 0.  It does
 * not say whether the block is live: use hak_block_state for that. */
int hak_classify(const void *p, hak_block_info *out);

/* State of the block starting at p (one of enum hak_state), or -1 when p
 * is not a block start.  Walks lists: slow, for instruments only. */
int hak_block_state(const void *p);

/* Call fn for every block of every slab of h (including uncarved ones, one
 * call per block) with its state. */
typedef void (*hak_visit_fn)(void *arg, void *block, size_t usable, int cls, int state);
void hak_heap_visit(hak_heap *h, hak_visit_fn fn, void *arg);
/* The same, but fn is called for the LIVE blocks only (a shadow model's
 * cross-check after every operation: no call per free or uncarved block). */
void hak_heap_visit_live(hak_heap *h, hak_visit_fn fn, void *arg);

/* ---- size classes ------------------------------------------------------ */
#define HAK_TINY_MAX  1024u          /* largest tiny request (inclusive) */
#define HAK_MID_MAX   (64u * 1024u)  /* largest mid request (inclusive); above is large */
int    hak_class_count(void);
int    hak_size_class(size_t size);  /* -1 above HAK_MID_MAX */
size_t hak_class_size(int cls);
int    hak_class_tier(int cls);

/* ---- statistics -------------------------------------------------------- */
typedef struct hak_stats {
  uint64_t os_map, os_unmap, os_commit, os_decommit, os_madvise; /* OS calls: mmap, munmap,
                                 prefaults (MADV_POPULATE_WRITE), decommits (MADV_DONTNEED);
                                 os_madvise counts every madvise, those two included */
  uint64_t mapped_bytes, peak_mapped_bytes;   /* bytes currently / at most mapped */
  uint64_t segments, peak_segments;           /* tiny segments + mid chunks live */
  uint64_t segment_cache;                     /* empty segments kept for reuse */
  uint64_t large_live, large_allocs;          /* large blocks held by the program / mappings ever made */
  uint64_t bigcache_hits, bigcache_misses, bigcache_bytes;
  uint64_t heaps, heaps_abandoned;
  uint64_t tiny_refills, mid_refills;         /* cache refills (slow path) */
  uint64_t remote_frees_drained;
} hak_stats;
void hak_stats_get(hak_stats *out);
void hak_stats_print(int fd);

/* ---- OS failure injection (check builds; a no-op returning -1 in release) */
/* Make the k-th OS map/commit call from now fail (k >= 1), 0 disables.
 * Returns 0 when injection is compiled in, -1 otherwise. */
int hak_os_fail_nth(long k);

#ifdef __cplusplus
}
#endif
#endif
