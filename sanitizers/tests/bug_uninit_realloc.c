/* realloc grows a block: the bytes past the old size are uninitialised. */
#include "st.h"
int main(void) {
  char *p = st_launder(malloc(16));
  st_require_hakmem(p, "malloc(16)");
  memset(p, 1, 16);
  p = st_launder(realloc(p, 3000));
  if (p[8] != 1) ST_FAIL("realloc lost the contents");
  if (p[2000] == 1) puts("one");                 /* <- the bug */
  free(p);
  return 0;
}
