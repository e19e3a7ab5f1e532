/* Read a large block after freeing it (it is parked in hakmem's BigCache,
 * still mapped). */
#include "st.h"
int main(void) {
  char *p = st_launder(malloc(200000));
  st_require_hakmem(p, "malloc(200000)");
  memset(p, 'a', 200000);
  free(p);
  volatile char c = p[1000];                     /* <- the bug */
  (void)c;
  return 0;
}
