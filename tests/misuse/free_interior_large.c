/* free of an interior pointer of a large block. */
#include "misuse.h"
int main(void) {
  char *p = malloc(1 << 20);
  free(launder(p + 8192));
  survived("free of an interior pointer of a large block returned");
}
