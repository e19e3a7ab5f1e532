/* Double free of a tiny block, immediately: the block is in the thread cache. */
#include "misuse.h"
int main(void) {
  void *p = malloc(32);
  free(p);
  free(launder(p));
  survived("second free of a tiny block returned");
}
