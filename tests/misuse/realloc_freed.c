/* realloc of a freed block. */
#include "misuse.h"
int main(void) {
  void *p = malloc(200);
  free(p);
  void *q = realloc(launder(p), 400);
  (void)q;
  survived("realloc of a freed block returned");
}
