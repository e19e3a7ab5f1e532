/* realloc of a stack address. */
#include "misuse.h"
int main(void) {
  _Alignas(16) char buf[64];
  memset(buf, 0, sizeof buf);
  void *q = realloc(launder(buf), 100);
  (void)q;
  survived("realloc of a stack address returned");
}
