/* realloc moves the block: the old pointer is dead. */
#include "st.h"
int main(void) {
  char *p = st_launder(malloc(24));
  st_require_hakmem(p, "malloc(24)");
  memset(p, 'a', 24);
  char *q = st_launder(realloc(p, 5000));
  if (q == p) ST_FAIL("realloc(24 -> 5000) did not move: adapt the test");
  volatile char c = p[3];                        /* <- the bug */
  (void)c;
  free(q);
  return 0;
}
