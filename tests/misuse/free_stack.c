/* free of a (16-byte aligned) stack address. */
#include "misuse.h"
int main(void) {
  _Alignas(16) char buf[64];
  memset(buf, 0, sizeof buf);
  free(launder(buf));
  survived("free of a stack address returned");
}
