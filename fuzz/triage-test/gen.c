/* fuzz/triage-test/gen.c: the three fuzz/ops inputs of the triage test
 * (fuzz/triage-test/run.sh), written with the format's own emitter. */
#include <stdio.h>

#include "ops_emit.h"

static int emit(const char *dir, const char *name, size_t first, size_t second) {
  hfz_writer w;
  uint8_t buf[64];
  char path[512];
  hfz_init(&w, buf, sizeof buf, 1, 0, 1);
  hfz_malloc(&w, 0, 1, first);
  if (second) hfz_realloc(&w, 0, 1, second);
  hfz_free(&w, 0, 1);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return w.err || hfz_write_file(&w, path) != 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: gen DIR\n");
    return 2;
  }
  /* triage-test.patch: realloc to 1000..1007 spins; to 2000..2007 keeps a short block */
  return emit(argv[1], "hang", 200, 1003) | emit(argv[1], "crash", 1200, 2004) | emit(argv[1], "clean", 100, 0);
}
