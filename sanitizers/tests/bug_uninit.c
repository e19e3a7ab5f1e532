/* Branch on a byte of a fresh block that was never written. */
#include "st.h"
int main(void) {
  char *p = st_launder(malloc(64));
  st_require_hakmem(p, "malloc(64)");
  p[0] = 1;
  if (p[10] == 42) puts("forty-two");            /* <- the bug */
  free(p);
  return 0;
}
