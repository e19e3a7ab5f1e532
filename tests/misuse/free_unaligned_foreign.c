/* free of an unaligned pointer that is not hakmem's (odd stack address). */
#include "misuse.h"
int main(void) {
  _Alignas(16) char buf[64];
  memset(buf, 0, sizeof buf);
  free(launder(buf + 3));
  survived("free of an unaligned stack pointer returned");
}
