/* Double free of a block of an exited thread whose memory was given back:
 * the thread's only block is freed, the thread exits, its heap releases the
 * now empty segment (kept mapped in the segment cache); main frees the
 * block again. */
#include "misuse.h"
static void *p;
static void *run(void *arg) {
  (void)arg;
  p = malloc(112);
  free(p);
  return NULL;
}
int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, run, NULL);
  pthread_join(t, NULL);
  hak_block_info bi;
  NEED(hak_classify(p, &bi) == 0 && hak_block_state(p) == -1);   /* segment released */
  free(launder(p));
  survived("free of a block in a released segment returned");
}
