/* Use after free that corrupts a free-list link with garbage: the program
 * writes bytes into a freed block sitting on its slab's free list, then
 * allocates until the allocator pops it. */
#include "misuse.h"
int main(void) {
  size_t n = 64;
  void *keep = malloc(n);        /* keeps the slab in use once p is flushed back */
  void *p = malloc(n);
  NEED(((uintptr_t)keep >> 16) == ((uintptr_t)p >> 16));
  flush_prepare(n);
  free(p);
  flush_release();
  NEED(hak_block_state(p) == HAK_BLOCK_FREE);
  memset(launder(p), 'A', 16);   /* the use after free: link and the next word */
  allocate_until(n, NULL, 20000);
  survived("garbage free-list link accepted");
}
