/* Use after free that corrupts a free-list link with a PLAUSIBLE pointer:
 * the program writes the address of another live block of the same slab
 * into the first word of a freed block sitting on its slab's free list (the
 * word that holds the link), then allocates until the allocator pops it.
 * Unless links are encoded and validated (safe-linking), the allocator
 * follows the forged link and hands out the live block a second time. */
#include "misuse.h"
int main(void) {
  size_t n = 64;
  void *live = malloc(n);
  void *p = malloc(n);
  NEED(((uintptr_t)live >> 16) == ((uintptr_t)p >> 16));   /* same 64 KiB slab */
  memset(live, 0, n);            /* its first word reads as a terminating link */
  flush_prepare(n);
  free(p);
  flush_release();
  NEED(hak_block_state(p) == HAK_BLOCK_FREE);
  *(void **)launder(p) = live;   /* the use after free */
  if (allocate_until(n, live, 20000)) survived("malloc handed out a block that is still live");
  survived("forged free-list link accepted");
}
