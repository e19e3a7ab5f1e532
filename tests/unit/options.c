/* Environment options: the program re-executes itself ("child" argument)
 * with a chosen environment, since options are read once at start. */
#define T_SUITE "options"
#include "t.h"

#include <sys/sysinfo.h>

static char self[4096];

static int child_main(void) {
  /* a little of every tier, so the stats have something to say */
  void *p[100];
  for (int i = 0; i < 100; i++) { p[i] = malloc((size_t)i * 1500 + (i % 10 == 0 ? 200000 : 0)); memset(p[i], 1, 8); }
  for (int i = 0; i < 100; i++) free(p[i]);
  char *s = malloc(16);
  strcpy(s, "child-ok");
  t_say("%s\n", s);
  free(s);
  return 0;
}

/* Report what the options did, for the parent to compare. */
static int child_report(void) {
  void *p = malloc(1 << 20);
  memset(p, 1, 4096);
  free(p);
  hak_heap *h = hak_heap_new();
  for (int i = 0; i < 20000; i++) hak_heap_malloc(h, 100);
  hak_heap_destroy(h);
  hak_stats s;
  hak_stats_get(&s);
  t_say("bigcache_bytes=%llu segment_cache=%llu\n", (unsigned long long)s.bigcache_bytes,
        (unsigned long long)s.segment_cache);
  return 0;
}

typedef struct { const char *env[4]; const char *mode; } envspec;

static void exec_child(void *arg) {
  envspec *e = arg;
  char *argv[] = {self, (char *)(e->mode ? e->mode : "child"), NULL};
  static char *envp[8];
  int k = 0;
  for (int i = 0; i < 4 && e->env[i]; i++) envp[k++] = (char *)e->env[i];
  envp[k] = NULL;
  execve(self, argv, envp);
  _exit(127);
}

static char out[65536], err[65536];

static int run_mode(const char *mode, const char *e0, const char *e1) {
  envspec e = {{e0, e1, NULL, NULL}, mode};
  out[0] = err[0] = 0;
  return t_child(exec_child, &e, 20, out, sizeof out, err, sizeof err);
}
static int run_with(const char *e0, const char *e1) { return run_mode(NULL, e0, e1); }

static unsigned long long field(const char *name) {
  const char *p = strstr(out, name);
  return p ? strtoull(p + strlen(name), NULL, 10) : ~0ull;
}

/* HAKMEM_BIGCACHE_MB and HAKMEM_SEGMENT_CACHE take effect. */
static void t_options_take_effect(void) {
  int st = run_mode("report", NULL, NULL);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  unsigned long long bc = field("bigcache_bytes="), sc = field("segment_cache=");
  t_say("  default: %s", out);
  CHECK(bc >= (1u << 20) && bc != ~0ull);
  CHECK(sc > 0 && sc != ~0ull);
  st = run_mode("report", "HAKMEM_BIGCACHE_MB=0", "HAKMEM_SEGMENT_CACHE=0");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  t_say("  BIGCACHE_MB=0 SEGMENT_CACHE=0: %s", out);
  CHECK(field("bigcache_bytes=") == 0);
  CHECK(field("segment_cache=") == 0);
  CHECK(err[0] == 0);
}

static void show_err(void) {
  const char *l = err;
  for (int i = 0; l && *l && i < 12; i++) {
    const char *e = strchr(l, '\n');
    int n = e ? (int)(e - l) : (int)strlen(l);
    t_say("    stderr| %.*s\n", n, l);
    l = e ? e + 1 : NULL;
  }
}

/* The defaults as README.md documents them, written out here as literals:
 * the test compares them with what the core says it uses, so a default
 * changed in src/options.c without the documentation (or the reverse) is a
 * FAIL.  Order: as the HAKMEM_VERBOSE start-up line prints them. */
enum { O_BIGCACHE, O_INIT, O_MAX, O_LEVELS, O_SEGCACHE, O_HUGE, O_STATS, O_VERBOSE, O_LARGE, O_N };
static struct { const char *env; unsigned long documented; unsigned long other; } opts[O_N] = {
  [O_BIGCACHE] = {"HAKMEM_BIGCACHE_MB", 16, 64},
  [O_INIT]     = {"HAKMEM_POOL_TLS_ARENA_MB_INIT", 1, 2},
  [O_MAX]      = {"HAKMEM_POOL_TLS_ARENA_MB_MAX", 8, 4},
  [O_LEVELS]   = {"HAKMEM_POOL_TLS_ARENA_GROWTH_LEVELS", 4, 3},
  [O_SEGCACHE] = {"HAKMEM_SEGMENT_CACHE", 8, 0},
  [O_HUGE]     = {"HAKMEM_HUGEPAGES", 1, 0},
  [O_STATS]    = {"HAKMEM_STATS", 0, 1},
  [O_VERBOSE]  = {"HAKMEM_VERBOSE", 0, 1},
  [O_LARGE]    = {"HAKMEM_LARGE_MAX", 0 /* RAM + swap, MiB: set in main */, 1024 /* given as 1024M */},
};

/* HAKMEM_LARGE_MAX's documented default: what RAM + swap could back, in
 * MiB as the start-up line prints it. */
static unsigned long ram_plus_swap_mib(void) {
  struct sysinfo si;
  if (sysinfo(&si) != 0) return 0;
  unsigned long long b = ((unsigned long long)si.totalram + si.totalswap) * (si.mem_unit ? si.mem_unit : 1);
  return (unsigned long)(b >> 20);
}

/* The exact line HAKMEM_VERBOSE=1 prints for the option values v[]. */
static void options_line(char *buf, size_t len, const unsigned long *v) {
  snprintf(buf, len, "hakmem: options: bigcache %lu MiB, mid chunks %lu..%lu MiB in %lu levels, "
           "segment cache %lu, hugepages %lu, stats %lu, verbose %lu, large max %lu MiB",
           v[O_BIGCACHE], v[O_INIT], v[O_MAX], v[O_LEVELS], v[O_SEGCACHE], v[O_HUGE], v[O_STATS], v[O_VERBOSE],
           v[O_LARGE]);
}

/* text holds line as one whole line */
static int has_exact_line(const char *text, const char *line) {
  size_t n = strlen(line);
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (strncmp(l, line, n) == 0 && (l[n] == '\n' || l[n] == '\0')) return 1;
  return 0;
}

/* With only HAKMEM_VERBOSE=1 set, every other option is at its documented
 * default, and the start-up line must say exactly that. */
static void t_documented_defaults(void) {
  unsigned long v[O_N];
  for (int i = 0; i < O_N; i++) v[i] = opts[i].documented;
  v[O_VERBOSE] = 1;
  char want[512];
  options_line(want, sizeof want, v);
  int st = run_with("HAKMEM_VERBOSE=1", NULL);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK(strstr(out, "child-ok") != NULL);
  CHECKF(has_exact_line(err, want), "want the line: %s", want);
  show_err();
}

/* Each documented name is read: set to another valid value, it is the one
 * value of the start-up line that changes. */
static void t_each_option_is_read(void) {
  for (int i = 0; i < O_N; i++) {
    if (i == O_VERBOSE) continue;
    unsigned long v[O_N];
    for (int j = 0; j < O_N; j++) v[j] = opts[j].documented;
    v[O_VERBOSE] = 1;
    v[i] = opts[i].other;
    char want[512], env[96];
    options_line(want, sizeof want, v);
    snprintf(env, sizeof env, "%s=%lu%s", opts[i].env, opts[i].other, i == O_LARGE ? "M" : "");
    int st = run_with("HAKMEM_VERBOSE=1", env);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: child failed", env);
    CHECKF(has_exact_line(err, want), "%s: want the line: %s", env, want);
    if (!has_exact_line(err, want)) show_err();
  }
}

static void t_default_is_silent(void) {
  int st = run_with(NULL, NULL);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK(strstr(out, "child-ok") != NULL);
  CHECKF(err[0] == 0, "unexpected stderr without options");
  if (err[0]) show_err();
}

static void t_stats_at_exit(void) {
  int st = run_with("HAKMEM_STATS=1", NULL);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK(strstr(out, "child-ok") != NULL);
  CHECKF(t_has_line(err, "hakmem", NULL), "no hakmem stats line on stderr");
  show_err();
}

static void t_invalid_value_warns(void) {
  static const char *bad[] = {"HAKMEM_BIGCACHE_MB=banana", "HAKMEM_BIGCACHE_MB=-3",
                              "HAKMEM_BIGCACHE_MB=12abc", "HAKMEM_STATS=yes please",
                              "HAKMEM_LARGE_MAX=12X", "HAKMEM_LARGE_MAX=4096", "HAKMEM_LARGE_MAX=999999T"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int st = run_with(bad[i], NULL);
    char why[128];
    t_describe_status(st, why, sizeof why);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: child %s", bad[i], why);
    CHECKF(strstr(out, "child-ok") != NULL, "%s: program did not run", bad[i]);
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(strchr(bad[i], '=') - bad[i]), bad[i]);
    CHECKF(t_has_line(err, "hakmem: ", name), "%s: no warning line naming %s", bad[i], name);
    if (i == 0) show_err();
  }
}

static void t_valid_values_accepted(void) {
  static const char *ok[] = {"HAKMEM_BIGCACHE_MB=0", "HAKMEM_BIGCACHE_MB=64", "HAKMEM_STATS=0",
                             "HAKMEM_LARGE_MAX=1G", "HAKMEM_LARGE_MAX=2147483648", "HAKMEM_LARGE_MAX=64t"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    int st = run_with(ok[i], NULL);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(strstr(out, "child-ok") != NULL);
    CHECKF(!t_has_line(err, "hakmem", NULL), "%s produced output", ok[i]);
    if (err[0]) show_err();
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) return child_main();
  if (argc > 1 && strcmp(argv[1], "report") == 0) return child_report();
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) { t_say("FAIL: options/readlink\n"); return 1; }
  self[n] = 0;
  t_init(120);
  opts[O_LARGE].documented = ram_plus_swap_mib();
  T_RUN(t_documented_defaults);
  T_RUN(t_each_option_is_read);
  T_RUN(t_default_is_silent);
  T_RUN(t_stats_at_exit);
  T_RUN(t_invalid_value_warns);
  T_RUN(t_valid_values_accepted);
  T_RUN(t_options_take_effect);
  return t_done();
}
