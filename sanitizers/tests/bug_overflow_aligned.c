/* aligned_alloc(64, 40): hakmem serves it from a bigger class; only the
 * 40 requested bytes are the program's. */
#include "st.h"
int main(void) {
  char *p = st_launder(aligned_alloc(64, 40));
  st_require_hakmem(p, "aligned_alloc(64, 40)");
  memset(p, 'a', 40);
  p[40] = 'x';                                   /* <- the bug */
  free(p);
  return 0;
}
