/* malloc_usable_size of a freed block. */
#include "misuse.h"
int main(void) {
  void *p = malloc(200);
  free(p);
  size_t n = malloc_usable_size(launder(p));
  (void)n;
  survived("malloc_usable_size of a freed block returned");
}
