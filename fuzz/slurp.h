/* fuzz/slurp.h: read a whole input file into malloc'd memory (the replay
 * programs); any error is reported and exits with status 2. */
#ifndef HAKMEM_FUZZ_SLURP_H
#define HAKMEM_FUZZ_SLURP_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline uint8_t *hfz_slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) { perror(path); exit(2); }
  fclose(f);
  *len = n > 0 ? (size_t)n : 0;
  return buf;
}
#endif
