/* Use after free that corrupts a remote-free queue link with garbage: a
 * thread frees a block it does not own, then writes bytes over it; the owner
 * drains its queue. */
#include "misuse.h"
static void *p;
static void *run(void *arg) {
  (void)arg;
  free(p);
  NEED(hak_block_state(p) == HAK_BLOCK_REMOTE);
  memset(launder(p), 'A', 16);   /* the use after free */
  return NULL;
}
int main(void) {
  p = malloc(64);
  pthread_t t;
  pthread_create(&t, NULL, run, NULL);
  pthread_join(t, NULL);
  void *m = malloc(5000);        /* first mid allocation: refill, which drains the queue */
  (void)m;
  allocate_until(64, NULL, 20000);
  survived("garbage remote-queue link accepted");
}
