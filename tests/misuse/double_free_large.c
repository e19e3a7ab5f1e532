/* Double free of a large block (> 64 KiB): it is parked in BigCache. */
#include "misuse.h"
int main(void) {
  void *p = malloc(300000);
  free(p);
  NEED(hak_block_state(p) == HAK_BLOCK_BIGCACHE);
  free(launder(p));
  survived("second free of a large block returned");
}
