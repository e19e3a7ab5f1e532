/* Double free of a block of an exited thread, both frees by another thread:
 * the first goes to the abandoned heap's remote queue, the second must be
 * recognised there. */
#include "misuse.h"
static void *p;
static void *run(void *arg) {
  (void)arg;
  p = malloc(96);
  return NULL;   /* thread exit with p live */
}
int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, run, NULL);
  pthread_join(t, NULL);
  free(p);
  free(launder(p));
  survived("second free of a block of an exited thread returned");
}
