/* The OS layer and the address map: where mappings are placed, what a
 * refused or huge request costs, what the map can describe, and errno.
 * Cases that need other options re-execute this program ("child MODE")
 * with a chosen environment, since options are read once at start. */
#define T_SUITE "os"
#include "t.h"

#include <malloc.h>
#include <sys/sysinfo.h>

/* Internal entry point of the check build's archive (src/internal.h):
 * registering a region is what the unit test of the map's range needs. */
int hak__segmap_set(uintptr_t base, size_t size, void *region);

#define TiB ((size_t)1 << 40)
#define MiB ((size_t)1 << 20)

/* Placement cases need the real kernel's address space: sanitizer builds
 * of the core use no hints (the tools keep their shadow around the hint
 * window, src/os.c) and Valgrind refuses TiB-sized maps. */
static int placement_unavailable(void) {
#ifdef T_SANITIZER
  t_skip("sanitizer build: the core places maps without hints");
  return 1;
#else
  if (t_under_valgrind()) { t_skip("under Valgrind: no TiB-sized maps"); return 1; }
  return 0;
#endif
}

static char self[4096];
static hak_stats st(void) { hak_stats s; hak_stats_get(&s); return s; }

static unsigned long vm_rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  unsigned long kib = 0;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kib = strtoul(line + 6, NULL, 10);
  if (f) fclose(f);
  return kib;
}

/* ---- children ----------------------------------------------------------- */

/* Two requests the kernel refuses, then 200 map/unmap cycles of 32 MiB
 * (BigCache off): each cycle must be one mmap and one munmap.  The hint
 * used to advance by the refused size, past the top of user space, and
 * every later map paid an unaligned try and an over-sized retry. */
static int child_refused(void) {
  for (int i = 0; i < 2; i++) {
    errno = 0;
    void *p = malloc(127 * TiB);
    if (p != NULL || errno != ENOMEM) { t_say("refused: malloc(127 TiB) = %p errno %d\n", p, errno); return 2; }
  }
  hak_stats s0 = st();
  for (int i = 0; i < 200; i++) {
    char *p = malloc(32 * MiB);
    if (p == NULL) return 3;
    p[0] = 1;
    if (((uintptr_t)p & (2 * MiB - 1)) != 0) return 4;
    free(p);
  }
  hak_stats s1 = st();
  t_say("maps=%llu unmaps=%llu\n", (unsigned long long)(s1.os_map - s0.os_map),
        (unsigned long long)(s1.os_unmap - s0.os_unmap));
  return 0;
}

/* 120 blocks of 1 TiB mapped and freed in turn: 120 TiB of hints, more
 * than the window holds, so the hint wraps.  Every block lies in the
 * window [2 TiB, 64 TiB), below 2^47, and takes one mmap. */
static int child_window(void) {
  hak_stats s0 = st();
  uintptr_t lo = ~(uintptr_t)0, hi = 0;
  for (int i = 0; i < 120; i++) {
    char *p = malloc(TiB);
    if (p == NULL) { t_say("window: malloc(1 TiB) #%d failed, errno %d\n", i, errno); return 2; }
    p[0] = 1;
    p[TiB - 1] = 1;
    if ((uintptr_t)p < lo) lo = (uintptr_t)p;
    if ((uintptr_t)p + TiB > hi) hi = (uintptr_t)p + TiB;
    free(p);
  }
  hak_stats s1 = st();
  t_say("lo=%llu hi=%llu maps=%llu\n", (unsigned long long)lo, (unsigned long long)hi,
        (unsigned long long)(s1.os_map - s0.os_map));
  return 0;
}

/* A 16 TiB block (allowed by HAKMEM_LARGE_MAX here): after free, neither
 * the block nor the address-map leaves that described it stay resident. */
static int child_huge_resident(void) {
  unsigned long before = vm_rss_kib();
  char *p = malloc(16 * TiB);
  if (p == NULL) { t_say("huge: malloc(16 TiB) failed, errno %d\n", errno); return 2; }
  p[0] = 1;
  p[16 * TiB - 1] = 1;
  unsigned long during = vm_rss_kib();
  free(p);
  unsigned long after = vm_rss_kib();
  t_say("before=%lu during=%lu after=%lu\n", before, during, after);
  return 0;
}

/* What HAKMEM_LARGE_MAX=1G allows. */
static int child_limit(void) {
  errno = 0;
  void *big = malloc((size_t)1 << 30 | 1);
  int big_errno = errno;
  void *ok = malloc(512 * MiB);
  t_say("big=%d errno=%d ok=%d\n", big != NULL, big_errno, ok != NULL);
  free(ok);
  return 0;
}

/* ---- the parent's cases ------------------------------------------------- */

static char out[65536], err[65536];
typedef struct { const char *mode, *env0, *env1; } spec;

static void exec_child(void *arg) {
  spec *s = arg;
  char *argv[] = {self, (char *)"child", (char *)s->mode, NULL};
  char *envp[] = {(char *)s->env0, (char *)s->env1, NULL};
  if (envp[0] == NULL) envp[0] = envp[1], envp[1] = NULL;
  execve(self, argv, envp);
  _exit(127);
}

static int run(const char *mode, const char *env0, const char *env1) {
  spec s = {mode, env0, env1};
  out[0] = err[0] = 0;
  int status = t_child(exec_child, &s, 60, out, sizeof out, err, sizeof err);
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    char why[128];
    t_describe_status(status, why, sizeof why);
    t_say("  child %s: %s; stdout: %s; stderr: %.300s\n", mode, why, out, err);
  }
  return status;
}

static unsigned long long field(const char *name) {
  const char *p = strstr(out, name);
  return p ? strtoull(p + strlen(name), NULL, 10) : ~0ull;
}

static void t_refused_map_keeps_hint(void) {
  if (placement_unavailable()) return;
  int status = run("refused", "HAKMEM_LARGE_MAX=127T", "HAKMEM_BIGCACHE_MB=0");
  REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  unsigned long long maps = field("maps="), unmaps = field("unmaps=");
  t_say("  after two refused 127 TiB maps, 200 cycles of 32 MiB: %llu mmap, %llu munmap\n", maps, unmaps);
  /* a new 16 GiB span of the hint window also maps its address-map leaf */
  CHECKF(maps <= 200 + 6 && unmaps == 200, "want 200 mmap (+ a few map leaves) and 200 munmap");
}

static void t_hint_window_wraps(void) {
  if (placement_unavailable()) return;
  int status = run("window", "HAKMEM_LARGE_MAX=2T", NULL);
  REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  unsigned long long lo = field("lo="), hi = field("hi="), maps = field("maps=");
  t_say("  120 x 1 TiB: [%#llx, %#llx), %llu mmap\n", lo, hi, maps);
  CHECKF(lo >= 2 * TiB && hi <= 64 * TiB, "every hinted block in [2 TiB, 64 TiB)");
  /* one mmap per block, plus one per address-map leaf (16 GiB of address
   * space) the window's first pass reaches; the second pass reuses them */
  unsigned long long leaves = (hi - lo + (16ull << 30) - 1) / (16ull << 30);
  CHECKF(maps <= 120 + leaves + 4, "%llu mmap for 120 blocks and %llu leaves (+ metadata)", maps, leaves);
}

static void t_huge_free_leaves_nothing_resident(void) {
  if (placement_unavailable()) return;
  int status = run("huge", "HAKMEM_LARGE_MAX=20T", NULL);
  REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  unsigned long long before = field("before="), during = field("during="), after = field("after=");
  t_say("  VmRSS KiB: %llu before, %llu holding 16 TiB, %llu after free\n", before, during, after);
  CHECKF(after <= before + 4096, "free of a 16 TiB block left %llu KiB resident", after - before);
}

static void t_large_max_option(void) {
  int status = run("limit", "HAKMEM_LARGE_MAX=1G", NULL);
  REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECKF(field("big=") == 0 && field("errno=") == ENOMEM, "1 GiB + 1 under a 1G limit: %s", out);
  CHECKF(field("ok=") == 1, "512 MiB under a 1G limit: %s", out);
}

/* The default limit: RAM + swap.  A request above it fails at once with
 * ENOMEM, maps nothing and gives no cache away. */
static void t_huge_request_fails_at_once(void) {
  struct sysinfo si;
  REQUIRE(sysinfo(&si) == 0);
  size_t backable = ((size_t)si.totalram + si.totalswap) * (si.mem_unit ? si.mem_unit : 1);
  void *keep = malloc(4 * MiB);   /* parked in BigCache on free: must survive */
  free(keep);
  hak_stats s0 = st();
  static const size_t sizes[] = {16 * TiB, 0, (size_t)1 << 46};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i] ? sizes[i] : backable + 64 * MiB;
    double t0 = t_now();
    errno = 0;
    void *p = malloc(n);
    double ms = (t_now() - t0) * 1e3;
    CHECKF(p == NULL && errno == ENOMEM, "malloc(%zu) = %p errno %d", n, p, errno);
    CHECKF(ms < 5, "malloc(%zu) took %.2f ms", n, ms);
    free(p);
  }
  hak_stats s1 = st();
  CHECKF(s1.os_map == s0.os_map && s1.mapped_bytes == s0.mapped_bytes,
         "refused requests mapped something: %llu maps", (unsigned long long)(s1.os_map - s0.os_map));
  CHECKF(s1.bigcache_bytes == s0.bigcache_bytes, "refused requests emptied BigCache");
}

/* A region that reaches above the map's 48 bits is refused by name (check
 * build: fatal); it would have aliased the entry of the region 2^48 below. */
static void refuse_high(void *arg) {
  uintptr_t low = (uintptr_t)arg & ~(uintptr_t)(2 * MiB - 1);
  static _Alignas(64) char fake_region[256];
  hak__segmap_set(low + ((uintptr_t)1 << 48), 2 * MiB, fake_region);
  t_say("registered\n");
}

static void t_map_refuses_region_above_48_bits(void) {
  void *p = malloc(64);
  REQUIRE(p != NULL);
  hak_block_info before, after;
  REQUIRE(hak_classify(p, &before) == 1);
  int status = t_child(refuse_high, p, 20, out, sizeof out, err, sizeof err);
  char want[160];
  snprintf(want, sizeof want, "hakmem: region %p of 2097152 bytes lies outside the address map (48 bits)",
           (void *)(((uintptr_t)p & ~(uintptr_t)(2 * MiB - 1)) + ((uintptr_t)1 << 48)));
  CHECKF(strstr(err, want) != NULL, "want: %s; got: %.200s", want, err);
  CHECKF(strstr(out, "registered") == NULL && !(WIFEXITED(status) && WEXITSTATUS(status) == 0),
         "the out-of-range region was accepted");
  /* this process: the low region's entry is what it was, and the address
   * 2^48 above is no block of it */
  CHECK(hak_classify(p, &after) == 1 && after.block == before.block && after.tier == before.tier);
  free(p);
}

/* A give-back-and-retry that succeeds leaves errno as it was. */
static void t_successful_retry_keeps_errno(void) {
  void *cached = malloc(6 * MiB);   /* freed into BigCache: the retry unmaps it */
  REQUIRE(cached != NULL);
  free(cached);
  hak_stats s0 = st();
  REQUIRE(s0.bigcache_bytes > 0);
  REQUIRE(hak_os_fail_nth(1) == 0);
  errno = 4321;
  char *p = malloc(24 * MiB);
  int e = errno;
  hak_os_fail_nth(0);
  hak_stats s1 = st();
  CHECKF(p != NULL, "the retry after an injected failure failed");
  CHECKF(s1.bigcache_bytes < s0.bigcache_bytes, "the retry gave nothing back");
  CHECKF(e == 4321, "errno %d after a successful malloc (was 4321)", e);
  free(p);
}

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "child") == 0) {
    if (strcmp(argv[2], "refused") == 0) return child_refused();
    if (strcmp(argv[2], "window") == 0) return child_window();
    if (strcmp(argv[2], "huge") == 0) return child_huge_resident();
    if (strcmp(argv[2], "limit") == 0) return child_limit();
    return 99;
  }
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) { t_say("FAIL: os/readlink\n"); return 1; }
  self[n] = 0;
  t_init(170);
  T_RUN(t_refused_map_keeps_hint);
  T_RUN(t_hint_window_wraps);
  T_RUN(t_huge_free_leaves_nothing_resident);
  T_RUN(t_large_max_option);
  T_RUN(t_huge_request_fails_at_once);
  T_RUN(t_map_refuses_region_above_48_bits);
  T_RUN(t_successful_retry_keeps_errno);
  return t_done();
}
