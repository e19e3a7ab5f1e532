/* Tiny unit-test harness shared by the programs in tests/unit/.
 *
 *   #define T_SUITE "api"
 *   #include "t.h"
 *   static void t_foo(void) { CHECK(1 + 1 == 2); }
 *   int main(void) { T_RUN(t_foo); return t_done(); }
 *
 * Every test prints exactly one line, "PASS: <suite>/<test>" or
 * "FAIL: <suite>/<test>", preceded by one "  <file>:<line>: <expr>" line per
 * failed CHECK.  After each test the whole allocator is validated with
 * hak_check_all() (a violation fails the test).  Output goes straight to
 * fd 1 with write(2): nothing is buffered, so fork()ed children never
 * duplicate it.  t_done() returns 0 when all passed, 1 otherwise; any other
 * exit status (signal, timeout) is reported as a crash by tests/tests.mk. */
#ifndef HAK_TESTS_T_H
#define HAK_TESTS_T_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hakmem.h"
#include "hakmem_debug.h"

#ifndef T_SUITE
#error "define T_SUITE before including t.h"
#endif

/* T_SANITIZER: this program is built with ASan, MSan or TSan, whose
 * shadow memory reserves terabytes and keeps the address space around the
 * core's hint window; t_under_valgrind(): running under Valgrind, which
 * manages the address space itself.  Tests that need the real kernel's
 * address space (placement, RLIMIT_AS) t_skip() in both. */
#if defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || __has_feature(thread_sanitizer)
#    define T_SANITIZER 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define T_SANITIZER 1
#endif
static inline int t_under_valgrind(void) {   /* its preload objects are mapped */
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  int vg = 0;
  while (f && !vg && fgets(line, sizeof line, f)) vg = strstr(line, "vgpreload") != NULL;
  if (f) fclose(f);
  return vg;
}

static int t_cur_failed_;   /* checks failed in the running test */
static int t_any_failed_;   /* tests failed in this program */
static int t_passed_;
static int t_skip_check_all_; /* a test may opt out of the post-test check */

static inline void t_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void t_say(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  size_t off = 0;
  while (off < (size_t)n) {
    ssize_t w = write(1, buf + off, (size_t)n - off);
    if (w <= 0) { if (w < 0 && errno == EINTR) continue; return; }
    off += (size_t)w;
  }
}

static inline void t_check_failed_(const char *file, int line, const char *expr) {
  if (t_cur_failed_ < 20) t_say("  %s:%d: check failed: %s\n", file, line, expr);
  else if (t_cur_failed_ == 20) t_say("  (further failed checks not shown)\n");
  t_cur_failed_++;
}

#define CHECK(cond) \
  do { if (!(cond)) t_check_failed_(__FILE__, __LINE__, #cond); } while (0)
/* CHECK with a printf-style explanation on failure. */
#define CHECKF(cond, ...) \
  do { if (!(cond)) { t_check_failed_(__FILE__, __LINE__, #cond); t_say("    " __VA_ARGS__); t_say("\n"); } } while (0)
/* Fail and leave the current test function. */
#define REQUIRE(cond) \
  do { if (!(cond)) { t_check_failed_(__FILE__, __LINE__, #cond); return; } } while (0)

/* A test that does not apply to this build or environment calls
 * t_skip(why) and returns: it prints "SKIP: suite/name (why)", which is no
 * PASS, so a plan that expects it (tests/tests.mk) still goes red. */
static const char *t_skip_why_;
static inline void t_skip(const char *why) { t_skip_why_ = why; }

static inline void t_run_(const char *name, void (*fn)(void)) {
  int saved = errno;
  t_cur_failed_ = 0;
  t_skip_check_all_ = 0;
  t_skip_why_ = NULL;
  fn();
  if (t_skip_why_ && !t_cur_failed_) {
    t_say("SKIP: %s/%s (%s)\n", T_SUITE, name, t_skip_why_);
    errno = saved;
    return;
  }
  if (!t_skip_check_all_) {
    char msg[512];
    msg[0] = 0;
    if (hak_check_all(msg, sizeof msg) != 0) {
      t_say("  after test: hak_check_all: %s\n", msg);
      t_cur_failed_++;
    }
  }
  if (t_cur_failed_) { t_say("FAIL: %s/%s\n", T_SUITE, name); t_any_failed_ = 1; }
  else { t_say("PASS: %s/%s\n", T_SUITE, name); t_passed_++; }
  errno = saved;
}
/* name strips a leading "t_" for readability. */
#define T_RUN(fn) t_run_(strncmp(#fn, "t_", 2) == 0 ? &(#fn)[2] : #fn, fn)

static inline int t_done(void) { return t_any_failed_ ? 1 : 0; }

/* ---- helpers --------------------------------------------------------- */

/* Deterministic PRNG (xorshift64*). */
static inline uint64_t t_rand(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1DULL;
}

/* Fill / verify a block with a pattern derived from a seed. */
static inline void t_fill(void *p, size_t n, unsigned seed) {
  unsigned char *c = p;
  for (size_t i = 0; i < n; i++) c[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 8));
}
static inline int t_verify(const void *p, size_t n, unsigned seed) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++)
    if (c[i] != (unsigned char)(seed * 131u + i * 7u + (i >> 8))) return 0;
  return 1;
}
static inline int t_all_zero(const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) if (c[i]) return 0;
  return 1;
}
static inline int t_aligned(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

static inline double t_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read two pipes until both reach EOF, keeping what fits in the buffers. */
static inline void t_keep_(char *buf, size_t len, size_t *used, const char *src, size_t n) {
  if (!buf || *used + 1 >= len) return;
  size_t room = len - 1 - *used;
  if (n > room) n = room;
  memcpy(buf + *used, src, n);
  *used += n;
}
static inline void t_drain2_(int fa, char *a, size_t alen, int fb, char *b, size_t blen) {
  size_t ua = 0, ub = 0;
  struct pollfd pf[2] = {{fa, POLLIN, 0}, {fb, POLLIN, 0}};
  int open_ = 2;
  char tmp[4096];
  while (open_ > 0) {
    if (poll(pf, 2, -1) < 0) { if (errno == EINTR) continue; break; }
    for (int i = 0; i < 2; i++) {
      if (pf[i].fd < 0 || !pf[i].revents) continue;
      ssize_t r = read(pf[i].fd, tmp, sizeof tmp);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) { pf[i].fd = -1; open_--; continue; }
      if (i == 0) t_keep_(a, alen, &ua, tmp, (size_t)r);
      else t_keep_(b, blen, &ub, tmp, (size_t)r);
    }
  }
  if (a && alen) a[ua] = 0;
  if (b && blen) b[ub] = 0;
}

/* Run fn(arg) in a forked child with stdout/stderr captured into out/err
 * (NUL-terminated, truncated; either may be NULL).  The child exits 0 when
 * fn returns and gets SIGALRM after `secs` seconds.  Returns the wait
 * status, or -1. */
static inline int t_child(void (*fn)(void *), void *arg, unsigned secs,
                          char *out, size_t outlen, char *err, size_t errlen) {
  int po[2], pe[2];
  if (pipe(po) != 0) return -1;
  if (pipe(pe) != 0) { close(po[0]); close(po[1]); return -1; }
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);          /* misuse tests abort on purpose */
    dup2(po[1], 1); dup2(pe[1], 2);
    close(po[0]); close(po[1]); close(pe[0]); close(pe[1]);
    alarm(secs);
    fn(arg);
    _exit(0);
  }
  close(po[1]); close(pe[1]);
  t_drain2_(po[0], out, outlen, pe[0], err, errlen);
  close(po[0]); close(pe[0]);
  int st;
  while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) return -1;
  return st;
}

/* Does text contain a line starting with prefix and containing word? */
static inline int t_has_line(const char *text, const char *prefix, const char *word) {
  const char *l = text;
  size_t pl = strlen(prefix);
  while (l && *l) {
    const char *e = strchr(l, '\n');
    size_t n = e ? (size_t)(e - l) : strlen(l);
    if (n >= pl && memcmp(l, prefix, pl) == 0) {
      if (!word) return 1;
      size_t wl = strlen(word);
      for (size_t i = 0; i + wl <= n; i++)
        if (memcmp(l + i, word, wl) == 0) return 1;
    }
    l = e ? e + 1 : NULL;
  }
  return 0;
}

static inline void t_describe_status(int st, char *buf, size_t len) {
  if (st == -1) snprintf(buf, len, "fork/wait failed");
  else if (WIFEXITED(st)) snprintf(buf, len, "exit %d", WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) snprintf(buf, len, "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
  else snprintf(buf, len, "status 0x%x", st);
}

/* Call at the top of main: a hang becomes a failure (SIGALRM kills us). */
static inline void t_init(unsigned timeout_secs) {
  alarm(timeout_secs);
}

#endif
