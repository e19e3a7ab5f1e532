/* Double free of a tiny block after other allocations and frees: by the
 * second free the block has left the thread cache for its slab's free list. */
#include "misuse.h"
int main(void) {
  void *other[64];
  for (int i = 0; i < 64; i++) other[i] = malloc((size_t)(i * 37) % 3000);
  void *p = malloc(48);
  flush_prepare(48);
  free(p);
  flush_release();
  for (int i = 0; i < 64; i += 2) free(other[i]);
  for (int i = 0; i < 64; i++) other[i] = malloc(100 + (size_t)i * 8);   /* other classes */
  NEED(hak_block_state(p) == HAK_BLOCK_FREE);
  free(launder(p));
  survived("second free of a tiny block on its slab's free list returned");
}
