/* fuzz/sched/replay.c: replay fuzz/sched inputs (script + schedule) with no
 * fuzzer linked, deterministically: the same file gives the same
 * interleaving, the same output and the same crash report every time.
 *
 *   sched-replay [-v] [-n N] FILE...       run each input (N times in this process)
 *   sched-replay --to-mt IN OUT            write the script part as a fuzz/mt input
 *                                          (the same scripts under real threads)
 *   -v   trace every operation and every thread switch (HAKSCHED_TRACE=1)
 *
 * Determinism across processes: the schedule fixes the interleaving; what is
 * left is addresses.  The program re-executes itself once with address-space
 * randomisation off (personality ADDR_NO_RANDOMIZE; HAKSCHED_ASLR=1 keeps
 * it on), and getauxval(AT_RANDOM), the core's only entropy source, returns
 * fixed bytes in this binary, so mappings land at the same addresses and
 * every report is byte-for-byte identical.  Sanitizer reports still carry
 * the process id ("==1234=="). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/personality.h>
#include <unistd.h>

#include "sched_rt.h"
#include "slurp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
__attribute__((weak)) void __sanitizer_set_death_callback(void (*cb)(void));

/* ---- the core's entropy, fixed -------------------------------------------- */
extern unsigned long __getauxval(unsigned long type);
static const unsigned char fixed_random[16] = { 0x68, 0x61, 0x6b, 0x6d, 0x65, 0x6d, 0x2d, 0x73,
                                                0x63, 0x68, 0x65, 0x64, 0x2d, 0x72, 0x6e, 0x67 };
unsigned long getauxval(unsigned long type);
unsigned long getauxval(unsigned long type) {
  if (type == AT_RANDOM) return (unsigned long)(uintptr_t)fixed_random;
  return __getauxval(type);
}

static const char *current;
static volatile sig_atomic_t dumped;

static void on_death(void) {
  if (dumped) return;
  dumped = 1;
  if (current) {
    static const char m[] = "sched-replay: failing input: ";
    if (write(2, m, sizeof m - 1) < 0) {}
    if (write(2, current, strlen(current)) < 0) {}
    if (write(2, "\n", 1) < 0) {}
  }
  hs_dump_once(2);
}

static void on_signal(int sig) {
  on_death();
  signal(sig, SIG_DFL);
  raise(sig);
}

static int to_mt(const char *in, const char *out) {
  size_t n;
  uint8_t *d = hfz_slurp(in, &n);
  if (n < 6) { fprintf(stderr, "%s: too short\n", in); return 2; }
  size_t nrec = (size_t)d[4] | (size_t)d[5] << 8, avail = (n - 6) / 8;
  if (nrec > avail) nrec = avail;
  if (nrec > 512) nrec = 512;
  FILE *f = fopen(out, "wb");
  if (!f || fwrite(d, 1, 4, f) != 4 || fwrite(d + 6, 8, nrec, f) != nrec || fclose(f) != 0) { perror(out); return 2; }
  free(d);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--to-mt") == 0) return to_mt(argv[2], argv[3]);
  int pers = personality(0xffffffff);
  if (pers != -1 && !(pers & ADDR_NO_RANDOMIZE) && !getenv("HAKSCHED_ASLR") && !getenv("HAKSCHED_REEXEC")) {
    setenv("HAKSCHED_REEXEC", "1", 1);
    if (personality((unsigned long)pers | ADDR_NO_RANDOMIZE) != -1) {
      execv("/proc/self/exe", argv);
      /* could not re-execute: run with randomisation (addresses may differ) */
    }
  }
  unsetenv("HAKSCHED_REEXEC");
  int repeat = 1, first = 1;
  for (; first < argc && argv[first][0] == '-'; first++) {
    if (strcmp(argv[first], "-v") == 0) setenv("HAKSCHED_TRACE", "1", 1);
    else if (strcmp(argv[first], "-n") == 0 && first + 1 < argc) repeat = atoi(argv[++first]);
    else { fprintf(stderr, "usage: %s [-v] [-n N] FILE... | --to-mt IN OUT\n", argv[0]); return 2; }
  }
  if (first >= argc) { fprintf(stderr, "usage: %s [-v] [-n N] FILE... | --to-mt IN OUT\n", argv[0]); return 2; }
  signal(SIGABRT, on_signal);
  signal(SIGSEGV, on_signal);
  signal(SIGBUS, on_signal);
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(on_death);
  LLVMFuzzerInitialize(&argc, &argv);
  for (int i = first; i < argc; i++) {
    size_t n;
    uint8_t *d = hfz_slurp(argv[i], &n);
    current = argv[i];
    for (int k = 0; k < repeat; k++) LLVMFuzzerTestOneInput(d, n);
    current = NULL;
    free(d);
  }
  hs_stats st;
  hs_get_stats(&st);
  fprintf(stderr, "sched-replay: %d input(s) ran clean\n", argc - first);
  return 0;
}
