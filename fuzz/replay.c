/* fuzz/replay.c: run fuzz inputs with no fuzzer linked, so any input runs
 * under any sanitizer, Valgrind or gdb.  Linked with one target file
 * (fuzz/ops.c or fuzz/mt.c), which defines LLVMFuzzerTestOneInput.
 *
 *   replay [-v] [-n N] [-t] FILE|DIR...
 *     -v    print each input's name before running it
 *     -n N  run every input N times (persistent-mode stability)
 *     -t    print executions and exec/s at the end
 *     -p    print each input's time per execution (finding slow inputs)
 *     -d    determinism: run each input twice and compare the target's
 *           trace hash (hfz_trace_hash, fuzz/ops.c); a difference prints
 *           "HAKFUZZ-NONDET: FILE ..." and the exit status is 1
 * Directories are walked recursively (hidden files skipped).  Exit 0 when
 * every input ran; a finding aborts (the input's name is printed first). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "slurp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);
__attribute__((weak)) void __sanitizer_set_death_callback(void (*cb)(void));
__attribute__((weak)) uint64_t hfz_trace_hash(void);

static const char *current;
static int verbose, per_input, repeat = 1, determinism;
static unsigned long long runs, files, nondet;

static void say_current(void) {
  if (current) {
    static const char m[] = "replay: failing input: ";
    if (write(2, m, sizeof m - 1) < 0) {}
    if (write(2, current, strlen(current)) < 0) {}
    if (write(2, "\n", 1) < 0) {}
  }
}

static void on_signal(int sig) {
  say_current();
  signal(sig, SIG_DFL);
  raise(sig);
}

static void run_file(const char *path) {
  size_t n;
  uint8_t *buf = hfz_slurp(path, &n);
  current = path;
  if (verbose) fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (determinism) {
    LLVMFuzzerTestOneInput(buf, n);
    uint64_t first = hfz_trace_hash();
    LLVMFuzzerTestOneInput(buf, n);
    uint64_t second = hfz_trace_hash();
    runs += 2;
    if (first != second) {
      nondet++;
      printf("HAKFUZZ-NONDET: %s: trace %016llx then %016llx\n", path, (unsigned long long)first,
             (unsigned long long)second);
    }
  } else {
    for (int i = 0; i < repeat; i++) { LLVMFuzzerTestOneInput(buf, n); runs++; }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (per_input)
    fprintf(stderr, "%10.1f us  %s\n",
            ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / repeat, path);
  files++;
  current = NULL;
  free(buf);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void run_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) { perror(path); exit(2); }
  if (!S_ISDIR(st.st_mode)) { run_file(path); return; }
  DIR *d = opendir(path);
  if (!d) { perror(path); exit(2); }
  char **names = NULL;
  size_t nn = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (nn == cap) { cap = cap ? 2 * cap : 64; names = realloc(names, cap * sizeof *names); }
    size_t l = strlen(path) + strlen(e->d_name) + 2;
    names[nn] = malloc(l);
    snprintf(names[nn++], l, "%s/%s", path, e->d_name);
  }
  closedir(d);
  qsort(names, nn, sizeof *names, cmp);
  for (size_t i = 0; i < nn; i++) {
    struct stat s2;
    if (stat(names[i], &s2) == 0 && S_ISREG(s2.st_mode) && strstr(names[i], "README")) { free(names[i]); continue; }
    run_path(names[i]);
    free(names[i]);
  }
  free(names);
}

int main(int argc, char **argv) {
  int timing = 0, opt;
  while ((opt = getopt(argc, argv, "vn:tpd")) != -1) {
    if (opt == 'v') verbose = 1;
    else if (opt == 'n') repeat = atoi(optarg) > 0 ? atoi(optarg) : 1;
    else if (opt == 't') timing = 1;
    else if (opt == 'p') per_input = 1;
    else if (opt == 'd') determinism = 1;
    else { fprintf(stderr, "usage: %s [-v] [-p] [-d] [-n N] [-t] FILE|DIR...\n", argv[0]); return 2; }
  }
  if (optind >= argc) { fprintf(stderr, "usage: %s [-v] [-p] [-d] [-n N] [-t] FILE|DIR...\n", argv[0]); return 2; }
  if (determinism && !hfz_trace_hash) { fprintf(stderr, "replay -d: this target has no hfz_trace_hash\n"); return 2; }
  signal(SIGABRT, on_signal);
  signal(SIGSEGV, on_signal);
  signal(SIGBUS, on_signal);
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(say_current);
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = optind; i < argc; i++) run_path(argv[i]);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  fprintf(stderr, "replay: %llu inputs, %llu executions ok", files, runs);
  if (timing) fprintf(stderr, " in %.2f s (%.0f exec/s)", s, s > 0 ? (double)runs / s : 0.0);
  fprintf(stderr, "\n");
  if (determinism) {
    printf("replay -d: %llu of %llu inputs gave a different trace on their second run\n", nondet, files);
    return nondet ? 1 : 0;
  }
  return 0;
}
