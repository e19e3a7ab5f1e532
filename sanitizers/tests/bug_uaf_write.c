/* Write the first word of a freed block (where hakmem keeps its link). */
#include "st.h"
int main(void) {
  long *p = st_launder(malloc(64));
  st_require_hakmem(p, "malloc(64)");
  free(p);
  p[0] = 0x41414141;                             /* <- the bug */
  void *q = malloc(64);  /* the program goes on: hakmem must not be the one reporting */
  free(q);
  return 0;
}
