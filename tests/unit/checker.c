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
struct ccase { const char *name; corrupt_fn fn; const char *expect; };

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

/* name = the oracle marker of the check it targets (+ a suffix when
 * several cases reach one check); expect = that check's fixed text. */
static const struct ccase cases[] = {
  {"mark_not_in_heap/cache", c_cache_foreign, "on the thread cache is not in a segment of this heap"},
  {"mark_not_in_heap/remote", c_remote_foreign, "on the remote queue is not in a segment of this heap"},
  {"mark_not_in_heap/not_hakmem", c_cache_not_heap, "on the thread cache is not in a segment of this heap"},
  {"mark_unused_slab", c_cache_unused_slab, "on the thread cache is in an unused slab"},
  {"mark_not_block_start/misaligned", c_free_link_misaligned, "on a slab free list is not a carved block start"},
  {"mark_not_block_start/uncarved", c_cache_uncarved, "on the thread cache is not a carved block start"},
  {"mark_cache_class", c_cache_wrong_class, "belongs to a slab of class"},
  {"mark_duplicate/free_cache", c_dup_free_and_cache, "is on a slab free list and on the thread cache at once"},
  {"mark_duplicate/cache_cache", c_dup_in_cache, "is on the thread cache and on the thread cache at once"},
  {"mark_duplicate/cache_remote", c_dup_cache_and_remote, "is on the thread cache and on the remote queue at once"},
  {"mark_duplicate/free_cycle", c_free_list_cycle, "is on a slab free list and on a slab free list at once"},
  {"slab_unused_state", c_unused_slab_state, "is marked unused but has state"},
  {"slab_class_kind", c_slab_class, "wrong for the segment kind"},
  {"slab_geometry", c_slab_block_size, "has corrupted geometry"},
  {"slab_counts_range", c_carved_over, "counts out of range"},
  {"slab_state", c_slab_state_bad, "in use but in state 7"},
  {"slab_full_free", c_slab_full_with_free, "is FULL but has free or uncarved blocks"},
  {"seg_list_loops", c_seg_list_cycle, "segment list is longer than the"},
  {"seg_back_link", c_seg_back_link, "list has back link"},
  {"seg_magic", c_seg_magic, "has a bad magic or kind"},
  {"seg_owner", c_seg_owner, "on its list is owned by another heap"},
  {"seg_registered", c_seg_unregistered, "is not registered in the address-space map"},
  {"seg_geometry", c_seg_nslabs, "geometry:"},
  {"seg_free_bits", c_seg_free_bits, "on the avail list has free-slab bits 0"},
  {"free_link_outside", c_free_link_outside, "outside the slab"},
  {"cache_count", c_cache_count_over, ": count "},
  {"count_carved/used_plus", c_used_plus, "free-list length"},
  {"count_carved/used_minus", c_used_minus, "free-list length"},
  {"partial_too_many", c_partial_cycle, "holds more slabs than are PARTIAL (or loops)"},
  {"partial_foreign", c_partial_foreign, "links to a slab not of this heap"},
  {"partial_entry", c_partial_back_link, "or a bad back link"},
  {"partial_count", c_partial_unlinked, "PARTIAL slabs but 0 on partial lists"},
  {"free_key", c_free_key, "free key corrupted"},
};

static const struct ccase *cur;

static void child(void *arg) {
  (void)arg;
  fixture f;
  hak_heap *o = hak_heap_new();
  setup(&f, o);
  if (check_heap(f.h) != 0) { t_say("setup already broken: %s\n", cmsg); _exit(2); }
  cur->fn(&f);
  cmsg[0] = 0;
  int rc = hak_heap_check(f.h, cmsg, sizeof cmsg);
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

int main(void) {
  t_init(120);
  T_RUN(t_clean_fixture);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cur = &cases[i];
    t_run_(cur->name, t_case);
  }
  return t_done();
}
