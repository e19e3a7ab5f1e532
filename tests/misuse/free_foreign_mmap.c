/* free of memory mapped by someone else (the program's own mmap). */
#include "misuse.h"
int main(void) {
  char *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  NEED(m != MAP_FAILED);
  free(launder(m));
  survived("free of a foreign mapping returned");
}
