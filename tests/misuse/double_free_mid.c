/* Double free of a mid-size block (1 KiB < size <= 64 KiB). */
#include "misuse.h"
int main(void) {
  void *p = malloc(5000);
  free(p);
  free(launder(p));
  survived("second free of a mid block returned");
}
