/* The checker must notice deliberate corruption of internal state.  Each
 * case builds a small heap, corrupts one thing through src/types.h, and
 * calls the checker in a forked child (the corrupted heap is never used
 * again); the child prints the checker's message.  A case passes only when
 * the message contains the exact text of the one check it targets (each
 * check of src/check.c has a distinct text and an "oracle:" marker, and
 * tests/oracle/ removes each check in turn to show its case goes red). */
#define T_SUITE "checker"
#include "t.h"
#include "internal.h"

enum { CLS_SIZE = 64, NB = 200 };

typedef struct {
  hak_heap *h;
  unsigned  cls;
  void     *b[NB];      /* live blocks */
  hak_slab *s;          /* their slab */
  hak_heap *o;          /* the other heap (remote frees) */
} fixture;

/* NB live blocks of one class in a fresh heap, then free every 4th
 * locally and flush so the slab has a free list, every 4th+1 stays CACHED
 * (freed after the flush), every 4th+2 goes REMOTE (freed by heap o). */
static void setup(fixture *f, hak_heap *o) {
  f->h = hak_heap_new();
  f->o = o;
  f->cls = (unsigned)hak_size_class(CLS_SIZE);
  for (int i = 0; i < NB; i++) f->b[i] = hak_heap_malloc(f->h, CLS_SIZE);
  for (int i = 0; i < NB; i += 4) { hak_heap_free(f->h, f->b[i]); f->b[i] = NULL; }
  hak_heap_collect(f->h);
  for (int i = 1; i < NB; i += 4) { hak_heap_free(f->h, f->b[i]); }
  if (o) for (int i = 2; i < NB; i += 4) { hak_heap_free(o, f->b[i]); }
  f->s = hak__slab_of(hak__region_of((uintptr_t)f->b[3]), (uintptr_t)f->b[3]);
}

static char cmsg[512];

static int check_heap(hak_heap *h) {
  cmsg[0] = 0;
  int rc = hak_heap_check(h, cmsg, sizeof cmsg);
  return rc;
}

/* The first word of a free or cached block, encoded the way the core
 * encodes links (hak__word_store: safe-link mask of the block's address),
 * so that the corrupted link decodes to exactly v and the case reaches the
 * one check it aims at instead of the generic "outside the slab" one. */
static void poke_link(void *b, uintptr_t v) { hak__word_store(b, 0, v); }

typedef void (*corrupt_fn)(fixture *f);
/* all: 0 the case is judged by hak_heap_check; 1 it corrupts global state
 * and is judged by hak_check_all; 2 judged by hak_check_changed, after a
 * clean hak_check_all (the one it is relative to). */
struct ccase { const char *name; corrupt_fn fn; const char *expect; int all; };

static hak_segment *seg_of(fixture *f) { return (hak_segment *)hak__region_of((uintptr_t)f->b[3]); }
/* An unused slab of the fixture's segment (the fixture uses one slab). */
static hak_slab *unused_slab(fixture *f) {
  hak_segment *seg = seg_of(f);
  for (unsigned i = 0; i < seg->r.nslabs; i++)
    if ((seg->free_slabs >> i) & 1) return &seg->slabs[i];
  t_say("fixture segment has no unused slab\n");
  _exit(2);
}
static void cache_push(fixture *f, void *p) {
  hak_tcache *c = &f->h->cache[f->cls];
  c->slots[c->count++] = p;
}

static void c_free_link_outside(fixture *f) {
  poke_link(f->s->free, f->s->start + ((uintptr_t)1 << seg_of(f)->r.slab_shift));  /* next slab */
}
static void c_free_link_misaligned(fixture *f) { poke_link(f->s->free, (uintptr_t)f->b[3] + 8); }
/* A live block of the other heap: a real block (so the checker without
 * this check does not crash on it, it miscounts and says something else). */
static void c_cache_foreign(fixture *f) { cache_push(f, hak_heap_malloc(f->o, CLS_SIZE)); }
static void c_cache_unused_slab(fixture *f) {
  hak_segment *seg = seg_of(f);   /* an unused slab's start field is 0: compute its address */
  unsigned i = (unsigned)(unused_slab(f) - seg->slabs);
  cache_push(f, (void *)(seg->r.base + ((uintptr_t)i << seg->r.slab_shift)));
}
static void c_cache_uncarved(fixture *f) { cache_push(f, (void *)(f->s->start + (uintptr_t)f->s->carved * f->s->block_size)); }
static void c_cache_wrong_class(fixture *f) { cache_push(f, hak_heap_malloc(f->h, 512)); }
static void c_dup_free_and_cache(fixture *f) { cache_push(f, f->s->free); }
static void c_dup_in_cache(fixture *f) {
  hak_tcache *c = &f->h->cache[f->cls];
  cache_push(f, c->slots[c->count - 1]);
}
static void c_dup_cache_and_remote(fixture *f) {
  hak_tcache *c = &f->h->cache[f->cls];
  void *b = c->slots[c->count - 1];
  poke_link(b, (uintptr_t)hak_atomic_ptr_load(&f->h->remote, HAK_RELAXED));
  hak_atomic_ptr_store(&f->h->remote, b, HAK_RELAXED);
}
static void c_free_list_cycle(fixture *f) { poke_link(f->s->free, (uintptr_t)f->s->free); }
static void c_remote_foreign(fixture *f) {
  void *b = hak_heap_malloc(f->o, CLS_SIZE);
  poke_link(b, 0);
  hak_atomic_ptr_store(&f->h->remote, b, HAK_RELAXED);
}
static void c_cache_not_heap(fixture *f) {
  static char not_ours[128] __attribute__((aligned(64)));   /* not hakmem memory at all */
  cache_push(f, not_ours);
}
static void c_unused_slab_state(fixture *f) { unused_slab(f)->used = 1; }
static void c_slab_class(fixture *f) { f->s->cls = HAK_NCLASS; }
static void c_slab_block_size(fixture *f) { f->s->block_size += 16; }
static void c_carved_over(fixture *f) { f->s->carved = (uint16_t)(f->s->capacity + 1); }
static void c_slab_state_bad(fixture *f) { f->s->state = 7; }
static void c_slab_full_with_free(fixture *f) { f->s->state = HAK_SLAB_FULL; }
/* A self-loop: seg_list_loops ends the first walk; without it the walk
 * stops at its bound and the back-link check sees the loop's back edge. */
static void c_seg_list_cycle(fixture *f) { seg_of(f)->r.next = &seg_of(f)->r; }
/* The head's back link (list_remove would write through it). */
static void c_seg_back_link(fixture *f) { seg_of(f)->r.prev = &seg_of(f)->r; }
static void c_seg_magic(fixture *f) { seg_of(f)->r.magic ^= 0x100; }
static void c_seg_owner(fixture *f) { seg_of(f)->r.owner = hak_heap_current(); }
static void c_seg_unregistered(fixture *f) { seg_of(f)->r.size += (size_t)1 << seg_of(f)->r.slab_shift; }
static void c_seg_nslabs(fixture *f) { seg_of(f)->r.nslabs--; }
static void c_seg_free_bits(fixture *f) { seg_of(f)->free_slabs = 0; }
static void c_cache_count_over(fixture *f) {
  hak_tcache *c = &f->h->cache[f->cls];
  c->count = c->cap + 1;
}
static void c_used_plus(fixture *f) { f->s->used++; }
static void c_used_minus(fixture *f) { f->s->used--; }
static void c_partial_cycle(fixture *f) { f->s->next = f->s; }
static void c_partial_foreign(fixture *f) {
  static hak_slab fake;          /* a second PARTIAL slab exists, so the count check does not fire first */
  (void)hak_heap_malloc(f->h, 512);
  fake.start = (uintptr_t)&fake;
  f->s->next = &fake;
}
static void c_partial_back_link(fixture *f) { f->s->prev = f->s; }
static void c_partial_unlinked(fixture *f) {
  hak_slab *s = f->s;
  if (s->prev) s->prev->next = s->next; else f->h->partial[s->cls] = s->next;
  if (s->next) s->next->prev = s->prev;
  s->next = s->prev = NULL;
}
static void c_free_key(fixture *f) { f->h->free_key ^= 1; }

/* hak_check_changed: a heap written behind the core's back (its print
 * moves, its flag stays clear); corruption of a heap an operation then
 * marks; of the segment cache once a global change is noted (below, with
 * the global fixture). */
static void c_unmarked_cap(fixture *f) {   /* every invariant still holds */
  hak_tcache *c = &f->h->cache[f->cls];
  c->cap = c->cap < hak__class_cap_max[f->cls] ? c->cap + 1 : c->cap - 1;
}
static void c_used_plus_marked(fixture *f) {
  f->s->used++;
  hak_heap_free(f->h, hak_heap_malloc(f->h, CLS_SIZE));
}

/* ---- global state: large blocks, BigCache, segment cache, the map ----
 * The global fixture (made in the child, after the heap fixture): a live
 * large block of three granules, a short span (one granule, 256 KiB
 * mapped) and a full span of at least two granules parked in BigCache, a
 * segment in the segment cache, and a heap g whose only segment has one
 * FULL slab of live blocks and nothing cached (so dropping that segment
 * from g's lists disturbs no other check of g). */
static struct {
  hak_large         *live;     /* 5 MiB: granules base, +2 MiB, +4 MiB */
  hak_large         *cached;   /* short: never merged */
  hak_large         *full;     /* >= 2 granules, all mapped */
  hak_heap          *g;
  hak_segment       *gseg;
  hak_large_index    li;
  hak_segcache_index ci;
} G;

static hak_large *large_of(void *p) { return (hak_large *)hak__region_of((uintptr_t)p); }
static void global_setup(fixture *f) {
  G.g = hak_heap_new();
  /* Allocate until every block of the first slab is live (refills may
   * reach into the next slab), give the others back and collect: the
   * first slab is then FULL and the only one in use, nothing cached. */
  static void *other[256];
  unsigned n_other = 0, in_s = 1;
  void *p = hak_heap_malloc(G.g, HAK_TINY_MAX);
  hak_region *r = hak__region_of((uintptr_t)p);
  hak_slab *s = hak__slab_of(r, (uintptr_t)p);
  while (in_s < s->capacity && n_other < 256) {
    void *q = hak_heap_malloc(G.g, HAK_TINY_MAX);
    if (hak__slab_of(hak__region_of((uintptr_t)q), (uintptr_t)q) == s) in_s++;
    else other[n_other++] = q;
  }
  for (unsigned i = 0; i < n_other; i++) hak_heap_free(G.g, other[i]);
  hak_heap_collect(G.g);
  if (s->state != HAK_SLAB_FULL || G.g->cache[s->cls].count != 0 || G.g->partial[s->cls] != NULL) {
    t_say("fill: state %u carved %u used %u cap %u cached %u\n", s->state, s->carved, s->used, s->capacity,
          G.g->cache[s->cls].count);
    _exit(2);
  }
  G.gseg = (hak_segment *)r;
  G.live = large_of(hak_heap_malloc(f->h, (size_t)5 << 20));
  void *fl = hak_heap_malloc(f->h, (size_t)4 << 20);   /* live while c is made: c is not cut from it */
  void *c = hak_heap_malloc(f->h, (size_t)256 << 10);
  G.cached = large_of(c);
  hak_heap_free(f->h, c);
  hak_heap_free(f->h, fl);
  G.full = large_of(fl);   /* the span fl ended in (merged with any cached neighbour) */
  hak_heap *g2 = hak_heap_new();                       /* its segment goes to the segment cache */
  (void)hak_heap_malloc(g2, 16);
  hak_heap_destroy(g2);
  hak__large_index(&G.li);
  hak__segment_cache_index(&G.ci);
  if (G.cached->state != HAK_LARGE_CACHED || G.cached->mapped == G.cached->span || G.full == NULL ||
      G.full->state != HAK_LARGE_CACHED || G.full->mapped != G.full->span || G.full->span < 2 * HAK_GRANULE ||
      (*G.li.cache)->next == NULL || *G.ci.head == NULL || G.gseg->r.owner != G.g) {
    t_say("global fixture: no cached large block or cached segment\n");
    _exit(2);
  }
}
static void unlink_region(hak_region **head, hak_region *r) {
  if (r->prev) r->prev->next = r->next; else *head = r->next;
  if (r->next) r->next->prev = r->prev;
  r->next = r->prev = NULL;
}
/* Write the map entry of address a (the case runs in a child). */
static void set_entry(uintptr_t a, uintptr_t e) {
  hak_region **leaf = hak__segmap[(a >> (HAK_GRANULE_SHIFT + HAK_SEGMAP_LEAF_BITS)) & ((1u << HAK_SEGMAP_TOP_BITS) - 1)];
  leaf[(a >> HAK_GRANULE_SHIFT) & ((1u << HAK_SEGMAP_LEAF_BITS) - 1)] = (hak_region *)e;
}
/* A granule with no entry among those the map walk visits (segmap.c's
 * index: groups of 64 granules that ever held an entry), from the live
 * large block's group on.  A granule of a group that never held an entry
 * is outside the walk: only a wild write could put an entry there. */
static uintptr_t free_granule(void) {
  for (uintptr_t g = hak__segmap_next_used(G.live->r.base >> HAK_GRANULE_SHIFT); g < HAK_SEGMAP_GRANULES;
       g = hak__segmap_next_used(g + 1)) {
    uintptr_t a = g << HAK_GRANULE_SHIFT;
    if (hak__segmap_entry(a) == 0) return a;
  }
  t_say("no free granule in the walked groups\n");
  _exit(2);
}
static hak_region *cached_seg(void) { return *G.ci.head; }

static void c_large_magic(fixture *f) { (void)f; G.live->r.magic ^= 0x100; }
static void c_large_owner(fixture *f) { G.live->r.owner = f->h; }
static void c_large_span(fixture *f) { (void)f; G.live->span += HAK_PAGE; }
static void c_large_size(fixture *f) { (void)f; G.live->r.size += 1; }
static void c_large_dirty(fixture *f) { (void)f; G.live->dirty = G.live->span + HAK_PAGE; }
static void c_large_mapped(fixture *f) { (void)f; G.live->mapped = G.live->span - HAK_GRANULE; }
static void c_large_unmapped_end(fixture *f) { (void)f; set_entry(G.live->r.base + G.live->span - 1, 0); }
static void c_large_back_link(fixture *f) { (void)f; G.live->r.prev = &G.live->r; }
static void c_large_live_state(fixture *f) { (void)f; G.live->state = HAK_LARGE_CACHED; }
static void c_large_counter(fixture *f) { (void)f; hak_atomic_u64_add(&hak__ctr.large_live, 1, HAK_RELAXED); }
static void c_bigcache_size(fixture *f) { (void)f; G.cached->r.size -= HAK_PAGE; }
/* The first two cached spans swapped on the address list, links consistent. */
static void c_bigcache_swap(fixture *f) {
  (void)f;
  hak_region *a = *G.li.cache, *b = a->next;
  a->next = b->next;
  if (b->next) b->next->prev = a;
  b->prev = NULL;
  b->next = a;
  a->prev = b;
  *G.li.cache = b;
}
/* The full span cut in two touching full spans, every list and counter
 * kept consistent: only the merge rule is broken. */
static void c_bigcache_split(fixture *f) {
  (void)f;
  hak_large *l = G.full, *t = hak__meta_large_new();
  if (t == NULL) _exit(2);
  t->r.base = l->r.base + HAK_GRANULE;
  t->r.kind = HAK_REGION_LARGE;
  t->r.magic = HAK_REGION_MAGIC ^ HAK_REGION_LARGE;
  t->span = t->mapped = t->r.size = l->span - HAK_GRANULE;
  t->dirty = l->dirty > HAK_GRANULE ? l->dirty - HAK_GRANULE : 0;
  t->state = HAK_LARGE_CACHED;
  t->last_use = l->last_use;
  l->dirty -= t->dirty;
  l->span = l->mapped = l->r.size = HAK_GRANULE;
  if (hak__segmap_set(t->r.base, t->span, &t->r) != 0) _exit(2);
  t->r.prev = &l->r;
  t->r.next = l->r.next;
  if (l->r.next) l->r.next->prev = &t->r;
  l->r.next = &t->r;
  t->lru_prev = l;
  t->lru_next = l->lru_next;
  if (l->lru_next) l->lru_next->lru_prev = t;
  else *G.li.lru_tail = t;
  l->lru_next = t;
}
static void c_bigcache_lru_link(fixture *f) { (void)f; G.cached->lru_prev = G.cached; }
/* A LIVE block pushed on the LRU head, links consistent. */
static void c_bigcache_lru_live(fixture *f) {
  (void)f;
  hak_large *l = G.live, *head = *G.li.lru_head;
  l->lru_prev = NULL;
  l->lru_next = head;
  head->lru_prev = l;
  *G.li.lru_head = l;
}
static void c_bigcache_lru_future(fixture *f) { (void)f; G.cached->last_use = *G.li.epoch + 1; }
static void c_bigcache_lru_tail(fixture *f) { (void)f; *G.li.lru_tail = NULL; }
static void c_bigcache_bytes(fixture *f) { (void)f; *G.li.cached_bytes -= HAK_PAGE; }
static void c_segcache_magic(fixture *f) { (void)f; cached_seg()->magic ^= 0x100; }
static void c_segcache_magic_noted(fixture *f) {
  (*G.ci.head)->magic ^= 0x100;
  hak_heap_free(f->h, hak_heap_malloc(f->h, (size_t)1 << 20));   /* a large block: a global change */
}
static void c_segcache_back_link(fixture *f) { (void)f; cached_seg()->prev = cached_seg(); }
static void c_segcache_owner(fixture *f) { cached_seg()->owner = f->h; }
static void c_segcache_nslabs(fixture *f) { (void)f; cached_seg()->nslabs--; }
static void c_segcache_slab_used(fixture *f) { (void)f; ((hak_segment *)cached_seg())->free_slabs &= ~1u; }
static void c_segcache_unregistered(fixture *f) {
  (void)f;
  set_entry(cached_seg()->base, 0);
}
static void c_segcache_over_limit(fixture *f) { (void)f; *G.ci.count = hak__opt->segment_cache + 1; }
static void c_segcache_count(fixture *f) { (void)f; (*G.ci.count)--; }
static void c_map_bad_descriptor(fixture *f) {
  static hak_region zero;          /* a freed descriptor is zeroed (meta.c) */
  (void)f;
  set_entry(free_granule(), (uintptr_t)&zero);
}
static void c_map_not_covering(fixture *f) { (void)f; set_entry(free_granule(), (uintptr_t)&G.gseg->r | HAK_SEGMAP_TINY); }
static void c_map_tag(fixture *f) { set_entry(seg_of(f)->r.base, (uintptr_t)&seg_of(f)->r); }
static void c_map_hole(fixture *f) { (void)f; set_entry(G.live->r.base + HAK_GRANULE, 0); }
/* The gap this check closes: a segment dropped from its heap's lists. */
static void c_map_seg_dropped(fixture *f) { (void)f; unlink_region(&G.g->avail[0], &G.gseg->r); }
static void c_map_seg_uncached(fixture *f) {
  (void)f;
  unlink_region(G.ci.head, cached_seg());
  (*G.ci.count)--;
}
static void c_map_seg_stray_owner(fixture *f) {
  static hak_heap not_a_heap;
  (void)f;
  unlink_region(&G.g->avail[0], &G.gseg->r);
  G.gseg->r.owner = &not_a_heap;
}
static void c_map_large_dropped(fixture *f) {
  (void)f;
  unlink_region(G.li.live, &G.live->r);
  hak_atomic_u64_sub(&hak__ctr.large_live, 1, HAK_RELAXED);
  *G.li.live_bytes -= G.live->r.size;
}

/* name = the oracle marker of the check it targets (+ a suffix when
 * several cases reach one check); expect = that check's fixed text. */
static const struct ccase cases[] = {
  {"mark_not_in_heap/cache", c_cache_foreign, "on the thread cache is not in a segment of this heap", 0},
  {"mark_not_in_heap/remote", c_remote_foreign, "on the remote queue is not in a segment of this heap", 0},
  {"mark_not_in_heap/not_hakmem", c_cache_not_heap, "on the thread cache is not in a segment of this heap", 0},
  {"mark_unused_slab", c_cache_unused_slab, "on the thread cache is in an unused slab", 0},
  {"mark_not_block_start/misaligned", c_free_link_misaligned, "on a slab free list is not a carved block start", 0},
  {"mark_not_block_start/uncarved", c_cache_uncarved, "on the thread cache is not a carved block start", 0},
  {"mark_cache_class", c_cache_wrong_class, "belongs to a slab of class", 0},
  {"mark_duplicate/free_cache", c_dup_free_and_cache, "is on a slab free list and on the thread cache at once", 0},
  {"mark_duplicate/cache_cache", c_dup_in_cache, "is on the thread cache and on the thread cache at once", 0},
  {"mark_duplicate/cache_remote", c_dup_cache_and_remote, "is on the thread cache and on the remote queue at once", 0},
  {"mark_duplicate/free_cycle", c_free_list_cycle, "is on a slab free list and on a slab free list at once", 0},
  {"slab_unused_state", c_unused_slab_state, "is marked unused but has state", 0},
  {"slab_class_kind", c_slab_class, "wrong for the segment kind", 0},
  {"slab_geometry", c_slab_block_size, "has corrupted geometry", 0},
  {"slab_counts_range", c_carved_over, "counts out of range", 0},
  {"slab_state", c_slab_state_bad, "in use but in state 7", 0},
  {"slab_full_free", c_slab_full_with_free, "is FULL but has free or uncarved blocks", 0},
  {"seg_list_loops", c_seg_list_cycle, "segment list is longer than the", 0},
  {"seg_back_link", c_seg_back_link, "list has back link", 0},
  {"seg_magic", c_seg_magic, "has a bad magic or kind", 0},
  {"seg_owner", c_seg_owner, "on its list is owned by another heap", 0},
  {"seg_registered", c_seg_unregistered, "is not registered in the address-space map", 0},
  {"seg_geometry", c_seg_nslabs, "geometry:", 0},
  {"seg_free_bits", c_seg_free_bits, "on the avail list has free-slab bits 0", 0},
  {"free_link_outside", c_free_link_outside, "outside the slab", 0},
  {"cache_count", c_cache_count_over, ": count ", 0},
  {"count_carved/used_plus", c_used_plus, "free-list length", 0},
  {"count_carved/used_minus", c_used_minus, "free-list length", 0},
  {"partial_too_many", c_partial_cycle, "holds more slabs than are PARTIAL (or loops)", 0},
  {"partial_foreign", c_partial_foreign, "links to a slab not of this heap", 0},
  {"partial_entry", c_partial_back_link, "or a bad back link", 0},
  {"partial_count", c_partial_unlinked, "PARTIAL slabs but 0 on partial lists", 0},
  {"free_key", c_free_key, "free key corrupted", 0},
  {"unmarked_change", c_unmarked_cap, "changed since the last check without being marked as changed", 2},
  {"changed/marked_heap", c_used_plus_marked, "free-list length", 2},
  {"changed/global", c_segcache_magic_noted, "segment cache: descriptor 0x", 2},
  {"large_magic", c_large_magic, "bad magic or kind in its descriptor", 1},
  {"large_owner", c_large_owner, "has an owner heap", 1},
  {"large_span", c_large_span, "not granule-aligned", 1},
  {"large_size", c_large_size, "not a page multiple within its span", 1},
  {"large_dirty", c_large_dirty, ": dirty prefix", 1},
  {"large_mapped", c_large_mapped, ": mapped 4194304 of its span of 6291456", 1},
  {"large_registered", c_large_unmapped_end, "of its span not mapped to it", 1},
  {"large_back_link", c_large_back_link, "on the live list has back link", 1},
  {"large_live_state", c_large_live_state, "on the live list but not live", 1},
  {"large_live_count", c_large_counter, "the large_live counter says", 1},
  {"bigcache_entry", c_bigcache_size, "has state 2, size", 1},
  {"bigcache_order", c_bigcache_swap, "out of address order or overlapping", 1},
  {"bigcache_unmerged", c_bigcache_split, "touch but were not merged", 1},
  {"bigcache_lru_link", c_bigcache_lru_link, "has LRU back link", 1},
  {"bigcache_lru_state", c_bigcache_lru_live, "is not cached: state 1", 1},
  {"bigcache_lru_order", c_bigcache_lru_future, "out of order (used at", 1},
  {"bigcache_lru_tail", c_bigcache_lru_tail, "the LRU tail is 0x0 but the list ends at", 1},
  {"bigcache_counts", c_bigcache_bytes, "spans on the LRU,", 1},
  {"segcache_magic", c_segcache_magic, "segment cache: descriptor 0x", 1},
  {"segcache_back_link", c_segcache_back_link, "segment cache: back link of segment", 1},
  {"segcache_owner", c_segcache_owner, "still has an owner", 1},
  {"segcache_geometry", c_segcache_nslabs, "geometry: 31 slabs of 2^16", 1},
  {"segcache_slabs", c_segcache_slab_used, "has slabs in use", 1},
  {"segcache_registered", c_segcache_unregistered, "is missing from the address-space map", 1},
  {"segcache_limit", c_segcache_over_limit, "over its limit of", 1},
  {"segcache_count", c_segcache_count, "segments listed, count says", 1},
  {"map_magic", c_map_bad_descriptor, "with a bad magic or kind", 1},
  {"map_cover", c_map_not_covering, "which does not cover it", 1},
  {"map_tag", c_map_tag, ": entry tag 0 for a region of kind 1", 1},
  {"map_whole", c_map_hole, "does not map to it", 1},
  {"map_seg_unlisted", c_map_seg_dropped, "but on none of its lists", 1},
  {"map_seg_uncached", c_map_seg_uncached, "has no owner and is not in the segment cache", 1},
  {"map_seg_owner", c_map_seg_stray_owner, "which is not a live heap", 1},
  {"map_large_unlisted", c_map_large_dropped, "is on neither the live list nor BigCache", 1},
};

static const struct ccase *cur;

static void child(void *arg) {
  (void)arg;
  fixture f;
  hak_heap *o = hak_heap_new();
  setup(&f, o);
  if (cur->all) global_setup(&f);
  if ((cur->all ? hak_check_all(cmsg, sizeof cmsg) : check_heap(f.h)) != 0) {
    t_say("setup already broken: %s\n", cmsg);
    _exit(2);
  }
  cur->fn(&f);
  cmsg[0] = 0;
  int rc = cur->all == 2 ? hak_check_changed(cmsg, sizeof cmsg)
         : cur->all     ? hak_check_all(cmsg, sizeof cmsg)
                        : hak_heap_check(f.h, cmsg, sizeof cmsg);
  t_say("%s\n", cmsg);
  _exit(rc == -1 && cmsg[0] ? 0 : 1);
}

static void t_case(void) {
  char out[1024], err[2048];
  int st = t_child(child, NULL, 10, out, sizeof out, err, sizeof err);
  char why[128];
  t_describe_status(st, why, sizeof why);
  char *nl = strchr(out, '\n');
  if (nl) *nl = 0;
  if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    /* the specific check, not just any report */
    CHECKF(strstr(out, cur->expect) != NULL, "%s: expected \"%s\", checker said: %s", cur->name, cur->expect, out);
  } else if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1) {
    CHECKF(0, "%s: checker found nothing", cur->name);
  } else {
    CHECKF(0, "%s: child %s; stdout: %s; stderr: %.300s", cur->name, why, out, err);
  }
}

/* the fixture itself is valid */
static void t_clean_fixture(void) {
  fixture f;
  hak_heap *o = hak_heap_new();
  setup(&f, o);
  CHECKF(check_heap(f.h) == 0, "%s", cmsg);
  CHECKF(check_heap(o) == 0, "%s", cmsg);
  CHECK(f.s->free != NULL);
  CHECK(f.h->cache[f.cls].count > 0);
  CHECK(hak_atomic_ptr_load(&f.h->remote, HAK_RELAXED) != NULL);
  CHECK(hak_block_state(f.b[1]) == HAK_BLOCK_CACHED);
  CHECK(hak_block_state(f.b[2]) == HAK_BLOCK_REMOTE);
  CHECK(hak_block_state(f.b[3]) == HAK_BLOCK_LIVE);
  hak_heap_destroy(f.h);
  hak_heap_destroy(o);
}

/* What hak_check_changed leaves to hak_check_all (its documented limit):
 * a write no operation made, into a heap whose print it does not move. */
static void t_changed_skips_untouched(void) {
  fixture f;
  hak_heap *o = hak_heap_new();
  setup(&f, o);
  CHECKF(hak_check_all(cmsg, sizeof cmsg) == 0, "%s", cmsg);
  CHECKF(hak_check_changed(cmsg, sizeof cmsg) == 0, "%s", cmsg);
  f.s->used++;                       /* not in the print, no operation */
  CHECKF(hak_check_changed(cmsg, sizeof cmsg) == 0, "hak_check_changed walked an untouched heap: %s", cmsg);
  cmsg[0] = 0;
  CHECK(hak_check_all(cmsg, sizeof cmsg) == -1 && strstr(cmsg, "free-list length") != NULL);
  f.s->used--;
  CHECKF(hak_check_all(cmsg, sizeof cmsg) == 0, "%s", cmsg);
  hak_heap_destroy(f.h);
  hak_heap_destroy(o);
}

int main(void) {
  t_init(120);
  T_RUN(t_clean_fixture);
  T_RUN(t_changed_skips_untouched);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cur = &cases[i];
    t_run_(cur->name, t_case);
  }
  return t_done();
}
