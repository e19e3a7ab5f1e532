/* Misuse: one forked child per misuse.  Each must die by SIGABRT with a
 * line "hakmem: ..." naming the offending operation on stderr. */
#define T_SUITE "misuse"
#include "t.h"

#include <malloc.h>
#include <sys/mman.h>

static char err[8192];
static int global_word[64];

typedef void (*misuse_fn)(void);

static void run_fn(void *arg) { ((misuse_fn)arg)(); }

/* Exercise the allocator after the misuse and report survival with exit 0:
 * the parent treats that as "misuse not detected". */
#define SURVIVED() do { void *q_ = malloc(10); free(q_); _exit(0); } while (0)

static void m_double_free_tiny(void) {
  void *p = malloc(32);
  free(p);
  free(p);
  SURVIVED();
}
static void m_double_free_tiny_16(void) {
  void *p = malloc(8);
  free(p);
  free(p);
  SURVIVED();
}
static void m_double_free_tiny_cache_full(void) {
  /* the first free goes through the cache, blocks then flushed to the slab */
  void *p = malloc(48);
  free(p);
  hak_heap_collect(hak_heap_current());
  free(p);
  SURVIVED();
}
static void m_double_free_mid(void) {
  void *p = malloc(5000);
  free(p);
  free(p);
  SURVIVED();
}
static void m_double_free_large(void) {
  void *p = malloc(300000);
  void *keep = malloc(300000);    /* keep the region mapped in BigCache or not */
  free(p);
  free(p);
  free(keep);
  SURVIVED();
}
static void m_free_stack(void) {
  char buf[64];
  volatile char *vb = buf;
  free((void *)vb);
  SURVIVED();
}
static void m_free_global(void) {
  free(&global_word[4]);
  SURVIVED();
}
static void m_free_interior_tiny(void) {
  char *p = malloc(100);
  free(p + 16);
  SURVIVED();
}
static void m_free_interior_tiny_odd(void) {
  char *p = malloc(100);
  free(p + 1);
  SURVIVED();
}
static void m_free_interior_mid(void) {
  char *p = malloc(20000);
  free(p + 4096);
  SURVIVED();
}
static void m_free_interior_large(void) {
  char *p = malloc(1 << 20);
  free(p + 8192);
  SURVIVED();
}
static void m_free_foreign_mmap(void) {
  char *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  free(m + 64);
  SURVIVED();
}
static void m_free_uncarved(void) {
  /* a block-aligned address in the same slab that was never handed out */
  char *p = malloc(64);
  hak_block_info bi;
  if (hak_classify(p + 64 * 200, &bi) != 1) _exit(42);
  free((char *)bi.block);
  SURVIVED();
}
static void m_realloc_freed(void) {
  void *p = malloc(200);
  free(p);
  void *q = realloc(p, 400);
  (void)q;
  SURVIVED();
}
static void m_realloc_stack(void) {
  char buf[32];
  volatile char *vb = buf;
  void *q = realloc((void *)vb, 100);
  (void)q;
  SURVIVED();
}
struct misuse { const char *name; misuse_fn fn; const char *word; };

static void check_misuse(const struct misuse *m) {
  int st = t_child(run_fn, (void *)m->fn, 10, NULL, 0, err, sizeof err);
  char why[128];
  t_describe_status(st, why, sizeof why);
  int aborted = st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
  t_cur_failed_ = 0;
  if (!aborted) {
    t_say("  %s: child %s (want SIGABRT)\n", m->name, why);
    t_cur_failed_++;
  }
  /* m->word: alternatives separated by '|' */
  int found = 0;
  char words[64];
  snprintf(words, sizeof words, "%s", m->word);
  for (char *w = strtok(words, "|"); w && !found; w = strtok(NULL, "|"))
    found = t_has_line(err, "hakmem: ", w);
  if (!found) {
    t_say("  %s: no stderr line \"hakmem: ...%s...\"\n", m->name, m->word);
    t_cur_failed_++;
  }
  const char *l = strstr(err, "hakmem: ");
  if (l) {
    const char *e = strchr(l, '\n');
    t_say("  %s -> %.*s\n", m->name, e ? (int)(e - l) : (int)strlen(l), l);
  } else if (err[0]) {
    t_say("  %s stderr: %.200s\n", m->name, err);
  }
}

static const struct misuse cases[] = {
  {"double_free_tiny", m_double_free_tiny, "free"},
  {"double_free_tiny_8", m_double_free_tiny_16, "free"},
  {"double_free_tiny_after_flush", m_double_free_tiny_cache_full, "free"},
  {"double_free_mid", m_double_free_mid, "free"},
  {"double_free_large", m_double_free_large, "free"},
  {"free_stack", m_free_stack, "free"},
  {"free_global", m_free_global, "free"},
  {"free_foreign_mmap", m_free_foreign_mmap, "free"},
  {"free_interior_tiny", m_free_interior_tiny, "free"},
  {"free_interior_tiny_odd", m_free_interior_tiny_odd, "free"},
  {"free_interior_mid", m_free_interior_mid, "free"},
  {"free_interior_large", m_free_interior_large, "free"},
  {"free_uncarved", m_free_uncarved, "free"},
  {"realloc_freed", m_realloc_freed, "realloc|free"},
  {"realloc_stack", m_realloc_stack, "realloc|free"},
};

static int cur;
static void t_one(void) { check_misuse(&cases[cur]); }

int main(void) {
  t_init(120);
  for (cur = 0; cur < (int)(sizeof cases / sizeof cases[0]); cur++) t_run_(cases[cur].name, t_one);
  return t_done();
}
