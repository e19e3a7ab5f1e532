/* fuzz/afl_driver.c: AFL++ persistent-mode driver (shared-memory test
 * cases, deferred fork server) for a target that defines
 * LLVMFuzzerTestOneInput.  Build with afl-clang-fast; outside AFL++ it
 * reads one input from a file argument or stdin. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

#ifndef __AFL_FUZZ_TESTCASE_LEN
/* plain compiler: behave like a one-shot reader */
static ssize_t hfz_afl_len;
static uint8_t hfz_afl_buf[1 << 20];
#  define __AFL_FUZZ_INIT() int hfz_afl_unused
#  define __AFL_FUZZ_TESTCASE_BUF hfz_afl_buf
#  define __AFL_FUZZ_TESTCASE_LEN hfz_afl_len
#  define __AFL_INIT() do {} while (0)
static int hfz_afl_once = 1;
#  define __AFL_LOOP(n) (hfz_afl_once ? (hfz_afl_once = 0, hfz_afl_len = (ssize_t)fread(hfz_afl_buf, 1, sizeof hfz_afl_buf, stdin), 1) : 0)
#endif

__AFL_FUZZ_INIT();

int main(int argc, char **argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  if (argc > 1 && strcmp(argv[1], "-") != 0) {      /* replay a file (e.g. afl-tmin, triage) */
    if (!freopen(argv[1], "rb", stdin)) { perror(argv[1]); return 2; }
  }
  __AFL_INIT();
  uint8_t *buf = __AFL_FUZZ_TESTCASE_BUF;           /* after __AFL_INIT */
  static uint8_t copy[1 << 16];
  while (__AFL_LOOP(100000)) {
    ssize_t len = __AFL_FUZZ_TESTCASE_LEN;
    if (len < 0) len = 0;
    if ((size_t)len > sizeof copy) len = sizeof copy;
    memcpy(copy, buf, (size_t)len);                  /* a private copy: ASan sees exact bounds */
    LLVMFuzzerTestOneInput(copy, (size_t)len);
  }
  return 0;
}
