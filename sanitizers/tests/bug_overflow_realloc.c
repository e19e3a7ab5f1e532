/* realloc shrinks a block in place: the bytes past the new size are no
 * longer the program's. */
#include "st.h"
int main(void) {
  char *p = st_launder(malloc(60));
  st_require_hakmem(p, "malloc(60)");
  memset(p, 'a', 60);
  char *q = st_launder(realloc(p, 40));
  if (q != p) ST_FAIL("realloc(60 -> 40) moved the block: adapt the test");
  q[40] = 'x';                                   /* <- the bug */
  free(q);
  return 0;
}
