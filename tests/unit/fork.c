/* fork() while other threads hammer malloc/free: the child must be able to
 * allocate, free, start a thread and exit quickly (no lock left held). */
#define T_SUITE "fork"
#include "t.h"

#include <pthread.h>
#include <stdatomic.h>

static atomic_int stop;

static void *hammer(void *arg) {
  uint64_t seed = 31 + (uintptr_t)arg;
  void *keep[256] = {0};
  while (!atomic_load(&stop)) {
    for (int i = 0; i < 256; i++) {
      uint64_t r = t_rand(&seed);
      size_t n = (r % 8 == 0) ? 1025 + r % 100000 : r % 1100;
      free(keep[i]);
      keep[i] = malloc(n);
      if (keep[i]) memset(keep[i], (int)i, n < 32 ? n : 32);
    }
  }
  for (int i = 0; i < 256; i++) free(keep[i]);
  return NULL;
}

static void *child_thread(void *arg) {
  (void)arg;
  for (int i = 0; i < 1000; i++) { void *p = malloc((size_t)i * 3); free(p); }
  return malloc(100);
}

/* Runs in the child: exit codes say what went wrong. */
static int child_work(int variant) {
  void *p[200];
  for (int i = 0; i < 200; i++) {
    p[i] = malloc((size_t)(i * 97) % 70000 + (i % 5 == 0 ? 70000 : 0));
    if (!p[i]) return 10;
    memset(p[i], 0x77, 16);
  }
  for (int i = 0; i < 200; i += 2) free(p[i]);
  void *c = calloc(10, 1000);
  if (!c || !t_all_zero(c, 10000)) return 11;
  c = realloc(c, 300000);
  if (!c) return 12;
  free(c);
  if (variant % 3 == 0) {
    pthread_t th;
    void *ret = NULL;
    if (pthread_create(&th, NULL, child_thread, NULL) != 0) return 13;
    pthread_join(th, &ret);
    if (!ret) return 14;
    free(ret);
  }
  for (int i = 1; i < 200; i += 2) free(p[i]);
  if (variant % 5 == 0) {            /* a grandchild, for good measure */
    pid_t g = fork();
    if (g == 0) { void *x = malloc(1234); free(x); _exit(0); }
    int st;
    if (g < 0 || waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 15;
  }
  return 0;
}

static void fork_rounds(int nthreads, int rounds, int use_exit) {
  pthread_t th[4];
  atomic_store(&stop, 0);
  for (int i = 0; i < nthreads; i++) pthread_create(&th[i], NULL, hammer, (void *)(intptr_t)i);
  usleep(20000);
  int bad = 0;
  for (int r = 0; r < rounds; r++) {
    pid_t pid = fork();
    if (pid < 0) { bad++; break; }
    if (pid == 0) {
      alarm(10);                      /* a deadlock becomes SIGALRM */
      int rc = child_work(r);
      if (use_exit) exit(rc);         /* runs hakmem's exit-time code too */
      _exit(rc);
    }
    int st;
    double t0 = t_now();
    while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) { st = -1; break; }
    char why[128];
    t_describe_status(st, why, sizeof why);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      bad++;
      if (bad < 5) t_say("  round %d: child %s after %.1fs\n", r, why, t_now() - t0);
    }
    usleep((useconds_t)(r % 4) * 1000);
  }
  atomic_store(&stop, 1);
  for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
  CHECKF(bad == 0, "%d of %d children failed", bad, rounds);
}

static void t_fork_while_hammering(void) { fork_rounds(1, 50, 0); }
static void t_fork_two_hammers_exit(void) { fork_rounds(2, 50, 1); }

/* The parent keeps working normally after forks. */
static void t_parent_after_fork(void) {
  void *p = malloc(1000);
  pid_t pid = fork();
  if (pid == 0) { char m[256]; free(p); _exit(hak_check_all(m, sizeof m) == 0 ? 0 : 3); }
  int st;
  waitpid(pid, &st, 0);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  free(p);
  p = malloc(1000);
  CHECK(p != NULL);
  free(p);
}

int main(void) {
  t_init(150);
  T_RUN(t_parent_after_fork);
  T_RUN(t_fork_while_hammering);
  T_RUN(t_fork_two_hammers_exit);
  return t_done();
}
