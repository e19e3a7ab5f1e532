/* Write one byte past a 32-byte block whose size is exactly its class size:
 * the byte belongs to the next block of the slab, which the program does
 * not own (fresh slab: that block is carved but was never handed out). */
#include "st.h"
int main(void) {
  char *p = st_launder(malloc(32));
  st_require_hakmem(p, "malloc(32)");
  memset(p, 'a', 32);
  p[32] = 'x';                                   /* <- the bug */
  free(p);
  return 0;
}
