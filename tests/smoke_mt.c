/* Smoke: a small threaded program using only libc names.  Run under
 * LD_PRELOAD=libhakmem.so, or linked against libhakmem.a.  Four threads
 * pass blocks through a shared table (cross-thread frees), check contents,
 * use calloc/realloc/posix_memalign/strdup, and the main thread forks once.
 * Prints "smoke_mt ok <checksum>" and exits 0 on success. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { THREADS = 4, SLOTS = 2048, ITERS = 200000 };
static _Atomic(unsigned char *) slot[SLOTS];
static atomic_int bad;
static atomic_ulong sum;

static uint64_t rnd(uint64_t *s) { *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17; return *s; }

static void check_block(unsigned char *p) {
  size_t n = p[0] | (size_t)p[1] << 8;
  for (size_t k = 2; k < n; k++)
    if (p[k] != (unsigned char)(n + k)) { atomic_fetch_add(&bad, 1); return; }
  atomic_fetch_add(&sum, n);
}

static void *worker(void *arg) {
  uint64_t s = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
  for (int i = 0; i < ITERS; i++) {
    uint64_t r = rnd(&s);
    size_t n = r % 16 == 0 ? 2 + r % 60000 : 2 + r % 500;
    unsigned char *p;
    if (r % 7 == 0) p = calloc(1, n);
    else if (r % 11 == 0) { void *q = NULL; p = posix_memalign(&q, 64, n) == 0 ? q : NULL; }
    else p = malloc(n);
    if (!p) { atomic_fetch_add(&bad, 1); continue; }
    p[0] = (unsigned char)n; p[1] = (unsigned char)(n >> 8);
    for (size_t k = 2; k < n; k++) p[k] = (unsigned char)(n + k);
    unsigned char *old = atomic_exchange(&slot[r % SLOTS], p);
    if (old) {
      check_block(old);
      if (r % 5 == 0) {
        size_t on = old[0] | (size_t)old[1] << 8;
        unsigned char *g = realloc(old, on * 2 + 10);
        if (!g) { atomic_fetch_add(&bad, 1); continue; }
        check_block(g);
        old = g;
      }
      free(old);
    }
    if (r % 1000 == 0) { char *d = strdup("hello, hakmem"); if (strcmp(d, "hello, hakmem")) atomic_fetch_add(&bad, 1); free(d); }
  }
  return NULL;
}

int main(void) {
  pthread_t th[THREADS];
  for (intptr_t i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, worker, (void *)i);
  /* fork while the workers run */
  pid_t pid = fork();
  if (pid == 0) {
    void *p = malloc(100); free(p);
    char *s = strdup("child");
    _exit(strcmp(s, "child") != 0);
  }
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) atomic_fetch_add(&bad, 1);
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < SLOTS; i++) {
    unsigned char *p = atomic_exchange(&slot[i], NULL);
    if (p) { check_block(p); free(p); }
  }
  if (atomic_load(&bad)) { printf("smoke_mt FAILED: %d bad\n", atomic_load(&bad)); return 1; }
  printf("smoke_mt ok %lu\n", atomic_load(&sum) > 0 ? 1ul : 0ul);
  return 0;
}
