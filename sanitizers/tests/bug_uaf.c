/* Read a block after freeing it (the byte is past the words hakmem itself
 * uses in free blocks). */
#include "st.h"
int main(void) {
  char *p = st_launder(malloc(64));
  st_require_hakmem(p, "malloc(64)");
  memset(p, 'a', 64);
  free(p);
  volatile char c = p[20];                       /* <- the bug */
  (void)c;
  return 0;
}
