/* Double free across threads: a thread that does not own the block frees it
 * twice; both frees take the remote path (the first one queues the block on
 * the owner's remote-free queue). */
#include "misuse.h"
static void *p;
static void *run(void *arg) {
  (void)arg;
  void *mine = malloc(64);   /* this thread has a heap of its own */
  free(p);
  NEED(hak_block_state(p) == HAK_BLOCK_REMOTE);
  free(launder(p));
  free(mine);
  return NULL;
}
int main(void) {
  p = malloc(64);
  pthread_t t;
  pthread_create(&t, NULL, run, NULL);
  pthread_join(t, NULL);
  survived("second remote free returned");
}
