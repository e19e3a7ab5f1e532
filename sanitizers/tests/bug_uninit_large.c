/* A large block that comes back from hakmem's BigCache holds the previous
 * owner's bytes: uninitialised for the new owner. */
#include "st.h"
int main(void) {
  char *p = st_launder(malloc(300000));
  st_require_hakmem(p, "malloc(300000)");
  memset(p, 3, 300000);
  free(p);
  char *q = st_launder(malloc(300000));
  if (q[4096] == 3) puts("three");               /* <- the bug */
  free(q);
  return 0;
}
