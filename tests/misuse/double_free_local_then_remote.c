/* Double free across threads: the owner frees the block, then another
 * thread frees it again (the second free arrives through the remote path). */
#include "misuse.h"
static void *p;
static void *run(void *arg) {
  (void)arg;
  free(launder(p));
  return NULL;
}
int main(void) {
  p = malloc(64);
  free(p);
  NEED(hak_block_state(p) == HAK_BLOCK_CACHED);
  pthread_t t;
  pthread_create(&t, NULL, run, NULL);
  pthread_join(t, NULL);
  survived("free by another thread of a block its owner had freed returned");
}
