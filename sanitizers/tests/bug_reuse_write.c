/* Use after free hidden by immediate reuse: without a quarantine, a block
 * freed and at once asked for again (same size) comes straight back from
 * the thread cache, so a write through the stale pointer lands in the new
 * owner's live bytes and ASan, which only sees poison, says nothing.  The
 * ASan build's quarantine (src/quarantine.c) keeps the freed block out of
 * circulation: the write is reported. */
#include "st.h"
int main(void) {
  /* First show that the core would reuse the block: the instruments' API
   * bypasses the quarantine and the thread cache is LIFO. */
  hak_heap *h = hak_heap_current();
  void *a = hak_heap_malloc(h, 64);
  hak_heap_free(h, a);
  void *b = hak_heap_malloc(h, 64);
  if (b != a) ST_FAIL("the core did not reuse the block at once: the test proves nothing, adapt it");
  hak_heap_free(h, b);
  /* The program's free goes through the quarantine. */
  char *p = st_launder(malloc(64));
  st_require_hakmem(p, "malloc(64)");
  memset(p, 'a', 64);
  free(p);
  char *q = st_launder(malloc(64));
  memset(q, 'q', 64);
  p[10] = 'x';                                   /* <- the bug */
  free(q);
  return 0;
}
