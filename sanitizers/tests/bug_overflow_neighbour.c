/* Write one byte past a 48-byte block (exact class size) into the next
 * block, which was allocated and freed: it is free (in the thread cache). */
#include "st.h"
int main(void) {
  char *a = st_launder(malloc(48));
  char *b = st_launder(malloc(48));
  st_require_hakmem(a, "malloc(48)");
  char *lo = a < b ? a : b, *hi = a < b ? b : a;
  if (hi != lo + 48) ST_FAIL("blocks not adjacent (%p %p): layout changed, adapt the test", (void *)a, (void *)b);
  free(hi);
  memset(lo, 'a', 48);
  lo[48] = 'x';                                  /* <- the bug */
  free(lo);
  return 0;
}
