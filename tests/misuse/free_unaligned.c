/* free of an unaligned pointer inside a tiny block. */
#include "misuse.h"
int main(void) {
  char *p = malloc(100);
  free(launder(p + 1));
  survived("free of an unaligned pointer returned");
}
