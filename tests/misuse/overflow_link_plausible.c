/* Overflow from a live block into a free neighbour's link, with a PLAUSIBLE
 * pointer: an off-by-one store past the end of an array of 8 pointers lands
 * in the first word of the next block, which is on its slab's free list; the
 * stored value is the address of another live block of the same slab.
 * Unless links are encoded and validated (safe-linking), the allocator
 * follows it and hands out the live block a second time. */
#include "misuse.h"
int main(void) {
  size_t n = 64;                 /* exactly a class size: no slack */
  void **a = malloc(n);          /* void *a[8] */
  void *b = malloc(n);           /* its neighbour */
  void *live = malloc(n);
  NEED((char *)b == (char *)a + n && (char *)live == (char *)b + n);
  memset(live, 0, n);
  flush_prepare(n);
  free(b);
  flush_release();
  NEED(hak_block_state(b) == HAK_BLOCK_FREE);
  a = launder(a);
  for (int i = 0; i <= 8; i++) a[i] = live;   /* off by one: a[8] is b's link */
  if (allocate_until(n, live, 20000)) survived("malloc handed out a block that is still live");
  survived("overflowed free-list link accepted");
}
