/* Two threads write the same hakmem block with no synchronisation: the
 * allocator's happens-before annotations must not hide a real race. */
#include <pthread.h>
#include "st.h"
static char *shared;
static void *writer(void *arg) {
  shared[8] = (char)(intptr_t)arg;               /* <- the bug (racing writes) */
  return NULL;
}
int main(void) {
  shared = st_launder(malloc(64));
  st_require_hakmem(shared, "malloc(64)");
  pthread_t a, b;
  pthread_create(&a, NULL, writer, (void *)1);
  pthread_create(&b, NULL, writer, (void *)2);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  free(shared);
  return 0;
}
