/* HAKMEM_* options: read once, at initialisation, into a struct that is
 * then made read-only (it sits alone on its page), so nothing on any path
 * can change them later and the fast paths never consult them.
 * An invalid value gets one warning line and the default. */
#include <stdlib.h>
#include "internal.h"

static union {
  hak_options o;
  char page[HAK_PAGE];
} opt_page __attribute__((aligned(HAK_PAGE))) = { .o = {
  .bigcache_bytes = (size_t)16 << 20,
  .arena_init_bytes = (size_t)1 << 20,
  .arena_max_bytes = (size_t)8 << 20,
  .arena_levels = 4,
  .segment_cache = 8,
  .hugepages = 1,
  .stats = 0,
  .verbose = 0,
} };

const hak_options *hak__opt = &opt_page.o;

/* Parse a decimal number in [lo, hi]; anything else keeps *out and warns. */
static void read_num(const char *name, unsigned long lo, unsigned long hi, unsigned long *out) {
  const char *s = getenv(name);
  if (s == NULL) return;
  unsigned long v = 0;
  const char *c = s;
  int ok = *c != '\0';
  for (; *c && ok; c++) {
    if (*c < '0' || *c > '9' || v > (hi - (unsigned long)(*c - '0')) / 10) ok = 0;
    else v = v * 10 + (unsigned long)(*c - '0');
  }
  if (!ok || v < lo || v > hi) {
    hak__warn("hakmem: ignoring %s=%s (expected a whole number from %lu to %lu); using %lu",
              name, s, lo, hi, *out);
    return;
  }
  *out = v;
}

/* A byte count with an optional binary suffix (K, M, G, T) in [lo, hi];
 * anything else keeps *out and warns. */
static void read_bytes(const char *name, size_t lo, size_t hi, size_t *out) {
  const char *s = getenv(name);
  if (s == NULL) return;
  size_t v = 0;
  const char *c = s;
  int ok = *c >= '0' && *c <= '9';
  for (; ok && *c >= '0' && *c <= '9'; c++) {
    if (v > ((size_t)-1 - (size_t)(*c - '0')) / 10) ok = 0;
    else v = v * 10 + (size_t)(*c - '0');
  }
  unsigned shift = 0;
  if (ok && *c != '\0') {
    switch (*c++) {
      case 'K': case 'k': shift = 10; break;
      case 'M': case 'm': shift = 20; break;
      case 'G': case 'g': shift = 30; break;
      case 'T': case 't': shift = 40; break;
      default: ok = 0;
    }
    if (*c != '\0') ok = 0;
  }
  if (ok && shift && v > ((size_t)-1 >> shift)) ok = 0;
  if (ok) v <<= shift;
  if (!ok || v < lo || v > hi) {
    hak__warn("hakmem: ignoring %s=%s (expected bytes from %lu to %lu, optionally with K, M, G or T); "
              "using %lu", name, s, (unsigned long)lo, (unsigned long)hi, (unsigned long)*out);
    return;
  }
  *out = v;
}

static unsigned long pow2_floor(unsigned long v) {
  return v ? 1ul << (63 - __builtin_clzl(v)) : 0;
}

void hak__options_init(void) {
  hak_options *o = &opt_page.o;
  unsigned long v;
  v = o->bigcache_bytes >> 20;   read_num("HAKMEM_BIGCACHE_MB", 0, 1ul << 20, &v);   o->bigcache_bytes = v << 20;
  v = o->arena_init_bytes >> 20; read_num("HAKMEM_POOL_TLS_ARENA_MB_INIT", 1, 8, &v); o->arena_init_bytes = pow2_floor(v) << 20;
  v = o->arena_max_bytes >> 20;  read_num("HAKMEM_POOL_TLS_ARENA_MB_MAX", 1, 8, &v);  o->arena_max_bytes = pow2_floor(v) << 20;
  v = o->arena_levels;           read_num("HAKMEM_POOL_TLS_ARENA_GROWTH_LEVELS", 1, 8, &v); o->arena_levels = (unsigned)v;
  v = o->segment_cache;          read_num("HAKMEM_SEGMENT_CACHE", 0, 4096, &v);      o->segment_cache = (unsigned)v;
  v = o->hugepages;              read_num("HAKMEM_HUGEPAGES", 0, 1, &v);             o->hugepages = (unsigned)v;
  v = o->stats;                  read_num("HAKMEM_STATS", 0, 1, &v);                 o->stats = (unsigned)v;
  v = o->verbose;                read_num("HAKMEM_VERBOSE", 0, 1, &v);               o->verbose = (unsigned)v;
  size_t backable = hak__os_backable_bytes();
  o->large_max = backable != 0 && backable < HAK_LARGE_MAX ? backable : HAK_LARGE_MAX;
  read_bytes("HAKMEM_LARGE_MAX", (size_t)1 << 20, HAK_LARGE_MAX, &o->large_max);
  if (o->arena_max_bytes < o->arena_init_bytes) {
    hak__warn("hakmem: HAKMEM_POOL_TLS_ARENA_MB_MAX below _MB_INIT; using %lu MiB for both",
              (unsigned long)(o->arena_init_bytes >> 20));
    o->arena_max_bytes = o->arena_init_bytes;
  }
  if (o->verbose)
    hak__warn("hakmem: options: bigcache %lu MiB, mid chunks %lu..%lu MiB in %u levels, "
              "segment cache %u, hugepages %u, stats %u, verbose %u, large max %lu MiB",
              (unsigned long)(o->bigcache_bytes >> 20), (unsigned long)(o->arena_init_bytes >> 20),
              (unsigned long)(o->arena_max_bytes >> 20), o->arena_levels, o->segment_cache, o->hugepages,
              o->stats, o->verbose, (unsigned long)(o->large_max >> 20));
  hak__os_protect_readonly(&opt_page, sizeof opt_page);
}
