/* repro/relacy/remote_queue.cpp: the remote-free queue of the core under
 * Relacy (weak memory, every interleaving class up to its search bound).
 *
 * The code under test is NOT a copy: the build extracts hak__remote_push()
 * and hak__drain() verbatim from src/slab.c of the tree being built (the
 * real core, or a mutant tree of repro/bugs/) into remote_queue.inc, and
 * they reach their atomics through src/atomic.h, which includes
 * atomic_relacy.h (HAK_ATOMIC_MODEL).  What they call besides atomics is
 * modelled here: a block's link word and its user data are rl::var, so a
 * read or write not ordered by the queue's release/acquire pairing is a
 * data race Relacy reports; free_push() stands for the owner putting the
 * block back on a slab free list (it overwrites the link and reuses the
 * user data, as the next allocation would).
 *
 * The test: PRODUCERS threads each fill and remote-free BLOCKS blocks into
 * one heap while its owner drains DRAINS times; at the end the owner drains
 * once more.  Every block must come back exactly once, with the data its
 * producer wrote.  Exit status 0: no failure in ITER executions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"       /* src/atomic.h -> atomic_relacy.h */

#define PRODUCERS 3
#define BLOCKS    2        /* per producer */
#define DRAINS    2        /* by the owner while the producers run */
#define NBLK      (PRODUCERS * BLOCKS)

struct blk {
  rl::var<uintptr_t> link;   /* word 0: the allocator's link */
  rl::var<int>       data;   /* the user's last writes before free */
};

struct hak_slab { int unused; };
struct hak_heap {
  hak_atomic_ptr remote;
  blk  *got[NBLK * 2];
  int   ngot;
  int   overflow;
};

/* What hak__drain calls besides atomics. */
static hak_slab the_slab;
static hak_slab *owned_slab(hak_heap *h, void *b, const char *what) { (void)h; (void)b; (void)what; return &the_slab; }
static inline uintptr_t hak__word_load(const void *b, int i) { (void)i; return ((blk *)b)->link($); }
static inline void hak__word_store(void *b, int i, uintptr_t v) { (void)i; ((blk *)b)->link($) = v; }
static void free_push(hak_heap *h, hak_slab *s, void *p) {
  (void)s;
  blk *b = (blk *)p;
  RL_ASSERT(b->data($) == 42);   /* the producer's writes are visible */
  b->link($) = 0;                /* the free list's link overwrites word 0 */
  b->data($) = 7;                /* and the block is reused */
  if (h->ngot < NBLK * 2) h->got[h->ngot++] = b;
  else h->overflow = 1;
}
#define HAK_COUNT(ctr, n) ((void)(n))
/* The checker's change note (internal.h): nothing in model builds, like
 * every check-build hook that is not part of the algorithm. */
static inline void hak__changed_heap(hak_heap *h) { (void)h; }

#include "remote_queue.inc"       /* hak__remote_push, hak__drain from src/slab.c */

struct remote_queue_test : rl::test_suite<remote_queue_test, PRODUCERS + 1> {
  hak_heap heap;
  blk      blocks[NBLK];

  void before() {
    heap.remote.v($).store(nullptr, rl::mo_relaxed);
    heap.ngot = 0;
    heap.overflow = 0;
  }

  void thread(unsigned idx) {
    if (idx == PRODUCERS) {                 /* the owner */
      for (int i = 0; i < DRAINS; i++) hak__drain(&heap);
      return;
    }
    for (int k = 0; k < BLOCKS; k++) {      /* a producer */
      blk *b = &blocks[idx * BLOCKS + k];
      b->data($) = 42;
      hak__remote_push(&heap, b);
    }
  }

  void after() {
    hak__drain(&heap);
    RL_ASSERT(!heap.overflow);
    RL_ASSERT(heap.ngot == NBLK);          /* none lost, none twice */
    for (int i = 0; i < NBLK; i++) {
      int seen = 0;
      for (int j = 0; j < heap.ngot; j++) seen += heap.got[j] == &blocks[i];
      RL_ASSERT(seen == 1);
    }
  }
};

int main(int argc, char **argv) {
  rl::test_params p;
  p.iteration_count = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
  p.search_type = rl::random_scheduler_type;
  p.output_history = getenv("HAK_RELACY_HISTORY") != NULL;
  bool ok = rl::simulate<remote_queue_test>(p);
  printf("relacy remote_queue: %s (%llu iterations, %d producers x %d blocks, owner drains %d times)\n",
         ok ? "no failure" : "FAILED", (unsigned long long)p.iteration_count, PRODUCERS, BLOCKS, DRAINS);
  return ok ? 0 : 1;
}
