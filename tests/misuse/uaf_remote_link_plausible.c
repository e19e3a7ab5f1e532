/* Use after free that corrupts a remote-free queue link with a PLAUSIBLE
 * pointer: a thread frees a block it does not own (the block goes onto the
 * owner's remote queue, link in its first word), then writes the address of
 * a live block of the owner into that word.  When the owner drains its
 * queue, unless links are encoded and validated, the live block is put on a
 * free list and later handed out a second time. */
#include "misuse.h"
static void *p, *live;
static void *run(void *arg) {
  (void)arg;
  free(p);
  NEED(hak_block_state(p) == HAK_BLOCK_REMOTE);
  *(void **)launder(p) = live;   /* the use after free */
  return NULL;
}
int main(void) {
  live = malloc(64);
  p = malloc(64);
  memset(live, 0, 64);
  pthread_t t;
  pthread_create(&t, NULL, run, NULL);
  pthread_join(t, NULL);
  void *m = malloc(5000);        /* first mid allocation: refill, which drains the queue */
  (void)m;
  if (allocate_until(64, live, 20000)) survived("malloc handed out a block that is still live");
  survived("forged remote-queue link accepted");
}
