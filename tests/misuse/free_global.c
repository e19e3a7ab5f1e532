/* free of the address of a global variable. */
#include "misuse.h"
static _Alignas(16) char global_buf[256];
int main(void) {
  free(launder(global_buf + 64));
  survived("free of a global returned");
}
