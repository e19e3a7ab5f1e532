/* free of an interior pointer of a mid block. */
#include "misuse.h"
int main(void) {
  char *p = malloc(20000);
  free(launder(p + 4096));
  survived("free of an interior pointer of a mid block returned");
}
