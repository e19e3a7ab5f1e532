/* A block is written, freed and handed out again: its old contents are
 * still there, but for the new owner they are uninitialised. */
#include "st.h"
int main(void) {
  char *p = st_launder(malloc(100));
  st_require_hakmem(p, "malloc(100)");
  memset(p, 7, 100);
  free(p);
  char *q = st_launder(malloc(100));
  if (q != p) ST_FAIL("the block was not reused: adapt the test");
  if (q[50] == 7) puts("stale");                 /* <- the bug */
  free(q);
  return 0;
}
