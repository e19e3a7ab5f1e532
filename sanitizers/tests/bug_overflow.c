/* Write one byte past a 30-byte block (32-byte class: the byte is in the
 * block's slack, which hakmem keeps unaddressable). */
#include "st.h"
int main(void) {
  char *p = st_launder(malloc(30));
  st_require_hakmem(p, "malloc(30)");
  memset(p, 'a', 30);
  p[30] = 'x';                                   /* <- the bug */
  free(p);
  return 0;
}
