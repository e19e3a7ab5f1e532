/* free of an interior pointer of a tiny block (16-byte aligned, not a block start). */
#include "misuse.h"
int main(void) {
  char *p = malloc(100);
  free(launder(p + 16));
  survived("free of an interior pointer of a tiny block returned");
}
