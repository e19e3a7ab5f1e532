/* Double free of a block of an exited thread: the thread frees the block and
 * exits (its heap is abandoned, the block goes back to its slab, which stays
 * with the abandoned heap because another block of it is live); main frees
 * the block again. */
#include "misuse.h"
static void *p, *keep;
static void *run(void *arg) {
  (void)arg;
  p = malloc(80);
  keep = malloc(80);
  free(p);
  return NULL;   /* thread exit: heap abandoned */
}
int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, run, NULL);
  pthread_join(t, NULL);
  NEED(hak_block_state(p) == HAK_BLOCK_FREE);
  free(launder(p));
  survived("free of a block its exited owner had freed returned");
}
