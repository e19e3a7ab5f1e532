/* Shared by the one-misuse programs of tests/misuse/ (hardened_malloc's
 * style: each program commits exactly one misuse through the public API and
 * must be stopped by hakmem with SIGABRT and one fixed stderr line).
 *
 * Linked against build/release/libhakmem.a, which exports malloc & co.
 * hakmem_debug.h is used only to verify PRECONDITIONS (that the setup really
 * put a block in the state the misuse needs), never to commit the misuse.
 *
 * Exit statuses the runner (run.sh) understands:
 *   killed by SIGABRT  hakmem stopped the misuse (the stderr line is checked)
 *   0                  misuse not detected: the program survived it
 *   2                  setup failed: a precondition did not hold (test bug,
 *                      or the allocator's layout changed)
 * Commentary goes to stdout; stderr is reserved for hakmem's line. */
#ifndef HAK_MISUSE_H
#define HAK_MISUSE_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <malloc.h>

#include "hakmem_debug.h"

static void say_(const char *s) {
  size_t n = strlen(s);
  while (n > 0) { ssize_t w = write(1, s, n); if (w <= 0) return; s += w; n -= (size_t)w; }
}

/* The misuse was not stopped: exercise the allocator once more, then exit 0. */
static void survived(const char *what) {
  void *q = malloc(10);
  free(q);
  say_("misuse not detected: ");
  say_(what);
  say_("\n");
  _exit(0);
}

/* A precondition of the setup does not hold. */
#define NEED(cond) do { if (!(cond)) { say_("setup failed: " #cond "\n"); _exit(2); } } while (0)

/* Keep the compiler from reasoning about a pointer's provenance. */
static inline void *launder(void *p) { __asm__ volatile("" : "+r"(p)); return p; }

/* Moving a freed block p from the thread cache to its slab's free list
 * with malloc/free only: BEFORE free(p), flush_prepare(n) allocates many
 * blocks of p's class; AFTER free(p), flush_release() frees them, so the
 * cache overflows and flushes its oldest half, which holds p.  (The other
 * blocks end in the cache or on free lists.)  Callers check the result with
 * hak_block_state(p) == HAK_BLOCK_FREE. */
enum { FLUSH_N = 4096 };
static void *flush_q_[FLUSH_N];
static void flush_prepare(size_t n) {
  for (int i = 0; i < FLUSH_N; i++) flush_q_[i] = malloc(n);
}
static void flush_release(void) {
  for (int i = 0; i < FLUSH_N; i++) free(flush_q_[i]);
}

/* Allocate blocks of size n until one equals `target` (returns it) or
 * `limit` allocations were made (returns NULL).  Blocks are kept live. */
static void *allocate_until(size_t n, void *target, int limit) {
  for (int i = 0; i < limit; i++) {
    void *x = malloc(n);
    if (x == NULL) return NULL;
    if (x == target) return x;
  }
  return NULL;
}

#endif
