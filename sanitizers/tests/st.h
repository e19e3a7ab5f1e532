/* sanitizers/tests/st.h: shared by the annotation proofs.  Each bug_*.c
 * program commits exactly one memory error on a block hakmem handed out and
 * then exits 0: it passes only when the tool reports the error (see
 * sanitizers/tests/run.sh for what each tool must say).  Each clean_*.c
 * program is correct and must run without any report under every tool.
 * Built per variant: with sanitizers/hak_names.h (malloc -> hak_malloc) for
 * the sanitizers, plain for Valgrind (hakmem's malloc linked statically). */
#ifndef HAK_ST_H
#define HAK_ST_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hakmem_debug.h"

/* Hide a pointer's origin from the optimiser. */
static inline void *st_launder(void *p) {
  __asm__ volatile("" : "+r"(p));
  return p;
}

/* The block really is hakmem's (not the sanitizer's own allocator's). */
static inline void st_require_hakmem(const void *p, const char *what) {
  hak_block_info bi;
  if (!hak_classify(p, &bi)) {
    fprintf(stderr, "st: %s: %p is not a hakmem block: the test does not test hakmem\n", what, p);
    exit(3);
  }
}

#define ST_FAIL(...) do { fprintf(stderr, "st: " __VA_ARGS__); fputc('\n', stderr); exit(4); } while (0)
#endif
