/* free of a block start that hakmem never handed out (beyond the slab's
 * carve point). */
#include "misuse.h"
int main(void) {
  char *p = malloc(64);
  hak_block_info bi;
  NEED(hak_classify(p + 64 * 900, &bi) == 1 && hak_block_state(bi.block) == HAK_BLOCK_UNCARVED);
  free(launder(bi.block));
  survived("free of a never-allocated block returned");
}
