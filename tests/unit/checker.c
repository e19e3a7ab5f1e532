/* The checker must notice deliberate corruption of internal state.  Each
 * case builds a small heap, corrupts one thing through src/types.h, and
 * calls the checker in a forked child (the corrupted heap is never used
 * again); the child prints the checker's message and exits 0 when the
 * checker returned -1 with a message, 1 when it found nothing. */
#define T_SUITE "checker"
#include "t.h"
#include "internal.h"

enum { CLS_SIZE = 64, NB = 200 };

typedef struct {
  hak_heap *h;
  unsigned  cls;
  void     *b[NB];      /* live blocks */
  hak_slab *s;          /* their slab */
} fixture;

/* NB live blocks of one class in a fresh heap, then free every 4th
 * locally and flush so the slab has a free list, every 4th+1 stays CACHED
 * (freed after the flush), every 4th+2 goes REMOTE (freed by heap o). */
static void setup(fixture *f, hak_heap *o) {
  f->h = hak_heap_new();
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

/* The first word of a free or cached block, written the way the core
 * writes it (hak__word_store_raw: not instrumented), because sanitizer
 * builds keep such blocks poisoned.  The raw value is not encoded: the
 * corruption plants a plain pointer, as a stray write would. */
static void poke_link(void *b, uintptr_t v) { hak__word_store_raw(b, 0, v); }

typedef void (*corrupt_fn)(fixture *f);
struct ccase { const char *name; corrupt_fn fn; int use_all; };

static void c_link_outside(fixture *f) {
  void *b = f->s->free;
  poke_link(b, f->s->start + (uintptr_t)(1u << 20) * 3);   /* beyond the slab */
}
static void c_link_misaligned(fixture *f) {
  void *b = f->s->free;
  poke_link(b, (uintptr_t)f->b[3] + 8);                       /* inside a live block */
}
static void c_link_to_live(fixture *f) {
  /* the free list leads into a live block: it is on the list and live */
  void *b = f->s->free;
  poke_link(b, (uintptr_t)f->b[3]);
  poke_link(f->b[3], 0);
}
static void c_list_cycle(fixture *f) {
  void *b = f->s->free;
  poke_link(b, (uintptr_t)b);
}
static void c_dup_free_and_cache(fixture *f) {
  /* a block on the slab free list pushed into the thread cache too */
  hak_tcache *c = &f->h->cache[f->cls];
  c->slots[c->count++] = f->s->free;
}
static void c_dup_in_cache(fixture *f) {
  hak_tcache *c = &f->h->cache[f->cls];
  c->slots[c->count] = c->slots[c->count - 1];
  c->count++;
}
static void c_dup_free_and_remote(fixture *f) {
  /* HAKMEM bug #1: a block on the free list and the remote queue at once */
  void *b = f->s->free;
  void *head = hak_atomic_ptr_load(&f->h->remote, HAK_RELAXED);
    /* push b (its first word becomes the queue link, which also breaks the
   * free list after b: that must be detected too) */
  poke_link(b, (uintptr_t)head);
  hak_atomic_ptr_store(&f->h->remote, b, HAK_RELAXED);
}
static void c_remote_foreign(fixture *f) {
  /* the remote queue leads to memory that is not a block of this heap */
  static uintptr_t not_ours[16] __attribute__((aligned(64)));
  not_ours[0] = (uintptr_t)hak_atomic_ptr_load(&f->h->remote, HAK_RELAXED);
  hak_atomic_ptr_store(&f->h->remote, not_ours, HAK_RELAXED);
}
static void c_dup_cache_and_remote(fixture *f) {
  /* a CACHED block also pushed onto the remote queue */
  hak_tcache *c = &f->h->cache[f->cls];
  void *b = c->slots[c->count - 1];
  poke_link(b, (uintptr_t)hak_atomic_ptr_load(&f->h->remote, HAK_RELAXED));
  hak_atomic_ptr_store(&f->h->remote, b, HAK_RELAXED);
}
/* Note: a LIVE block pushed onto the remote queue is a legal state (it is
 * exactly what a remote free does), so it is not a checker case. */
static void c_used_plus(fixture *f) { f->s->used++; }
static void c_used_minus(fixture *f) { f->s->used--; }
static void c_carved_over(fixture *f) { f->s->carved = (uint16_t)(f->s->capacity + 1); }
static void c_cache_count_over(fixture *f) {
  hak_tcache *c = &f->h->cache[f->cls];
  c->count = c->cap + 1;
}
static void c_cache_foreign(fixture *f) {
  static char not_ours[128] __attribute__((aligned(64)));
  hak_tcache *c = &f->h->cache[f->cls];
  c->slots[c->count++] = not_ours;
}
static void c_cache_wrong_class(fixture *f) {
  void *other = hak_heap_malloc(f->h, 512);    /* live, another class */
  hak_tcache *c = &f->h->cache[f->cls];
  c->slots[c->count++] = other;
}
static void c_slab_state(fixture *f) { f->s->state = HAK_SLAB_FULL; }
static void c_partial_unlinked(fixture *f) {
  /* a partial slab removed from the heap's partial list */
  hak_slab *s = f->s;
  if (s->prev) s->prev->next = s->next; else f->h->partial[s->cls] = s->next;
  if (s->next) s->next->prev = s->prev;
  s->next = s->prev = NULL;
}
static void c_block_size(fixture *f) { f->s->block_size += 16; }
static void c_region_magic(fixture *f) {
  hak_region *r = hak__region_of((uintptr_t)f->b[3]);
  r->magic ^= 0x100;
}
static void c_region_owner(fixture *f) {
  hak_region *r = hak__region_of((uintptr_t)f->b[3]);
  r->owner = hak_heap_current();
}
static void c_free_slabs_bit(fixture *f) {
  hak_region *r = hak__region_of((uintptr_t)f->b[3]);
  hak_segment *seg = (hak_segment *)r;
  unsigned idx = (unsigned)(f->s - seg->slabs);
  seg->free_slabs |= 1u << idx;            /* in-use slab marked unused */
}

static const struct ccase cases[] = {
  {"free_link_outside_slab", c_link_outside, 0},
  {"free_link_misaligned", c_link_misaligned, 0},
  {"free_link_into_live_block", c_link_to_live, 0},
  {"free_list_cycle", c_list_cycle, 0},
  {"dup_free_list_and_cache", c_dup_free_and_cache, 0},
  {"dup_in_cache", c_dup_in_cache, 0},
  {"dup_free_list_and_remote", c_dup_free_and_remote, 0},
  {"remote_queue_foreign_pointer", c_remote_foreign, 0},
  {"dup_cache_and_remote", c_dup_cache_and_remote, 0},
  {"used_count_plus_one", c_used_plus, 0},
  {"used_count_minus_one", c_used_minus, 0},
  {"carved_over_capacity", c_carved_over, 0},
  {"cache_count_over_cap", c_cache_count_over, 0},
  {"cache_foreign_pointer", c_cache_foreign, 0},
  {"cache_wrong_class", c_cache_wrong_class, 0},
  {"slab_state_full_with_free", c_slab_state, 0},
  {"partial_slab_unlinked", c_partial_unlinked, 0},
  {"slab_block_size", c_block_size, 0},
  {"region_magic", c_region_magic, 1},
  {"region_owner", c_region_owner, 1},
  {"segment_free_slabs_bit", c_free_slabs_bit, 0},
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
  int rc = cur->use_all ? hak_check_all(cmsg, sizeof cmsg) : hak_heap_check(f.h, cmsg, sizeof cmsg);
  if (rc == 0 && !cur->use_all) rc = hak_check_all(cmsg, sizeof cmsg);  /* second chance */
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
    t_say("  %s -> %s\n", cur->name, out);
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
