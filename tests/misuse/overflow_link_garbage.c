/* Overflow from a live block into a free neighbour's link, with garbage: a
 * string copy runs 16 bytes past the end of a block into the next block,
 * which is on its slab's free list. */
#include "misuse.h"
int main(void) {
  size_t n = 64;
  char *a = malloc(n);
  void *b = malloc(n);
  NEED((char *)b == a + n);
  flush_prepare(n);
  free(b);
  flush_release();
  NEED(hak_block_state(b) == HAK_BLOCK_FREE);
  memset(launder(a), 'A', n + 16);   /* the overflow */
  allocate_until(n, NULL, 20000);
  survived("overflowed free-list link accepted");
}
