/* Double free of a block of the smallest class (16 B: the link and the
 * double-free key fill it). */
#include "misuse.h"
int main(void) {
  void *p = malloc(8);
  free(p);
  free(launder(p));
  survived("second free of a 16-byte block returned");
}
