/* Write one byte past a large block (100000 bytes: a page-rounded mapping). */
#include "st.h"
int main(void) {
  char *p = st_launder(malloc(100000));
  st_require_hakmem(p, "malloc(100000)");
  memset(p, 'a', 100000);
  p[100000] = 'x';                               /* <- the bug */
  free(p);
  return 0;
}
