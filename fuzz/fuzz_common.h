/* fuzz/fuzz_common.h: helpers shared by the fuzz targets (ops.c, mt.c):
 * failure reporting, fill patterns, size decoding.  Header-only (static). */
#ifndef HAKFUZZ_COMMON_H
#define HAKFUZZ_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "hakmem.h"
#include "hakmem_debug.h"
#include "ops_emit.h"

/* src/os.c, fuzz builds only (-DHAK_FUZZ): restart the OS layer's address
 * hints so each input maps the same addresses (fuzz/ops.c end of input).
 * Weak: sanitizers/ links fuzz/ops.c with cores built without HAK_FUZZ. */
__attribute__((weak)) void hak_fuzz_os_reset(void);
/* src/heap.c, fuzz builds only: put the caches back in their canonical
 * state after hak_debug_reset (1: rebuilt, 0: restored, -1: OS refused). */
__attribute__((weak)) int hak_fuzz_canon(void);
/* src/os.c, fuzz builds only: maps left before the armed injected failure
 * (0: none armed or already consumed).  Without it (cores built without
 * HAK_FUZZ) fuzz/ops falls back to accepting ENOMEM for the rest of the input. */
__attribute__((weak)) long hak_fuzz_os_fail_pending(void);

/* ---- failure --------------------------------------------------------------
 * Every finding prints one line "HAKFUZZ-FAIL[<tag>]: <message>" (the tag is
 * the deduplication signature used by fuzz/campaign.sh), then the target's
 * context, then aborts. */
typedef void (*hfz_context_fn)(void);
static hfz_context_fn hfz_context;

__attribute__((noreturn, format(printf, 2, 3), noinline))
static void hfz_fail(const char *tag, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "HAKFUZZ-FAIL[%s]: %s\n", tag, line);
  if (hfz_context) hfz_context();
  fflush(stderr);
  abort();
}

/* ---- fill pattern -----------------------------------------------------------
 * Byte i of a block filled with seed s is T[(s + i) % 251] (period 251, a
 * prime, so a copy shifted by any amount below 251 bytes is detected).
 * Blocks up to HFZ_WHOLE bytes (every tiny and mid block) are filled and
 * verified whole.  Larger blocks, each a mapping of its own whose every
 * page filled would be a page fault, have three filled regions: the first
 * and the last HFZ_FILL_CAP bytes and the HFZ_WINDOW-byte page number
 * (s * 40503) % (n / 4096): the seed, and with it the page, comes from the
 * input (fuzz/FORMAT.md). */
#define HFZ_WHOLE    65536u
#define HFZ_FILL_CAP 2048u
#define HFZ_WINDOW   4096u
#define HFZ_PERIOD   251u
#define HFZ_CHUNK    (HFZ_PERIOD * 16u)
static uint8_t hfz_pat[HFZ_CHUNK + HFZ_PERIOD];
static const uint8_t hfz_zeros[4096];

/* Harness-wide setup.  HAKFUZZ_NO_THP=1 turns transparent huge pages off
 * for the process (measured slower with the current core, kept for experiments). */
static void hfz_pattern_init(void) {
  if (hfz_pat[1]) return;
  if (getenv("HAKFUZZ_NO_THP")) prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
  for (unsigned j = 0; j < sizeof hfz_pat; j++)
    hfz_pat[j] = (uint8_t)(((j % HFZ_PERIOD) * 97u + 0x5bu) | 1u); /* never 0: distinct from calloc */
}

static inline void hfz_fill_range(uint8_t *p, size_t off, size_t n, unsigned seed) {
  size_t start = (seed + off) % HFZ_PERIOD;
  while (n) {
    size_t c = n < HFZ_CHUNK ? n : HFZ_CHUNK;
    memcpy(p, hfz_pat + start, c);
    p += c; n -= c;
  }
}

/* Offset of the first byte in [off, off+n) that differs, or (size_t)-1. */
static inline size_t hfz_cmp_range(const uint8_t *p, size_t off, size_t n, unsigned seed) {
  size_t start = (seed + off) % HFZ_PERIOD, done = 0;
  while (done < n) {
    size_t c = n - done < HFZ_CHUNK ? n - done : HFZ_CHUNK;
    if (memcmp(p + done, hfz_pat + start, c) != 0) {
      for (size_t i = 0; i < c; i++)
        if (p[done + i] != hfz_pat[start + i]) return off + done + i;
    }
    done += c;
  }
  return (size_t)-1;
}

/* The filled regions of an n-byte block with seed s, as [off[i], off[i] +
 * len[i]) for i below the count returned (they may overlap). */
static inline int hfz_regions(size_t n, unsigned seed, size_t off[3], size_t len[3]) {
  if (n <= HFZ_WHOLE) { off[0] = 0; len[0] = n; return 1; }
  size_t w = (size_t)(seed * 40503u) % (n / HFZ_WINDOW) * HFZ_WINDOW;
  off[0] = 0;                 len[0] = HFZ_FILL_CAP;
  off[1] = w;                 len[1] = n - w < HFZ_WINDOW ? n - w : HFZ_WINDOW;
  off[2] = n - HFZ_FILL_CAP;  len[2] = HFZ_FILL_CAP;
  return 3;
}

static inline void hfz_fill(void *p, size_t n, unsigned seed) {
  size_t off[3], len[3];
  for (int i = 0, k = hfz_regions(n, seed, off, len); i < k; i++)
    hfz_fill_range((uint8_t *)p + off[i], off[i], len[i], seed);
}

/* The work budgets (fuzz/ops GAS, fuzz/mt MT_GAS) count 4 KiB touched:
 * what one fill or verify of a block touches, and an allocation's work:
 * its fill and its verify at free, calloc's zeroes (the core's memset and
 * the zero check). */
static inline size_t hfz_fill_bytes(size_t size) {
  size_t off[3], len[3], touched = 0;
  for (int i = 0, k = hfz_regions(size, 0, off, len); i < k; i++) touched += len[i];
  return touched;
}
static inline long hfz_alloc_work(size_t size, int zeroed) {
  return (long)((2 * hfz_fill_bytes(size) + (zeroed ? 2 * size : 0)) >> 12);
}

/* First corrupted offset below limit within the filled regions of an
 * n-byte block filled with seed, or (size_t)-1. */
static inline size_t hfz_verify(const void *p, size_t n, unsigned seed, size_t limit) {
  size_t off[3], len[3], r;
  for (int i = 0, k = hfz_regions(n, seed, off, len); i < k; i++) {
    if (off[i] >= limit) continue;
    size_t l = limit - off[i] < len[i] ? limit - off[i] : len[i];
    if ((r = hfz_cmp_range((const uint8_t *)p + off[i], off[i], l, seed)) != (size_t)-1) return r;
  }
  return (size_t)-1;
}

/* First nonzero byte within the regions hfz_fill(p, n, seed) would fill, or
 * (size_t)-1: calloc's zeroes are checked where the pattern will go. */
static inline size_t hfz_verify_zero(const void *p, size_t n, unsigned seed) {
  size_t off[3], len[3];
  const uint8_t *q = (const uint8_t *)p;
  for (int i = 0, k = hfz_regions(n, seed, off, len); i < k; i++)
    for (size_t d = 0; d < len[i]; d += sizeof hfz_zeros) {
      size_t c = len[i] - d < sizeof hfz_zeros ? len[i] - d : sizeof hfz_zeros;
      if (memcmp(q + off[i] + d, hfz_zeros, c) != 0)
        for (size_t j = 0; j < c; j++) if (q[off[i] + d + j]) return off[i] + d + j;
    }
  return (size_t)-1;
}

/* ---- sizes ----------------------------------------------------------------- */
static inline uint32_t hfz_le32(const uint8_t *r) {
  return (uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16 | (uint32_t)r[3] << 24;
}

static inline size_t hfz_decode_size(unsigned mode, unsigned param, uint32_t v) {
  switch (mode & 7) {
  case HFZ_SZ_TINY:  return v % 1025u;
  case HFZ_SZ_SMALL: return v % 257u;
  case HFZ_SZ_MID:   return 1025u + v % 64512u;
  case HFZ_SZ_LARGE: return 65537u + v % (1u << (16 + param % 8));
  case HFZ_SZ_CLASS: {
    int n = hak_class_count();
    size_t s = n > 0 ? hak_class_size((int)(v % (unsigned)n)) : 16;
    unsigned d = param % 3;
    if (d == 0) return s ? s - 1 : 0;
    return d == 1 ? s : s + 1;
  }
  case HFZ_SZ_BOUNDARY: return hfz_boundary[v % HFZ_NBOUNDARY];
  case HFZ_SZ_HUGE:     return hfz_huge[v % HFZ_NHUGE];
  default:              return v % (HFZ_RAW_MAX + 1);
  }
}

static inline int hfz_must_fail(size_t size) { return size > (size_t)PTRDIFF_MAX; }
/* A request that must or may fail maps and touches nothing the budgets count. */
static inline int hfz_maps_nothing(size_t size) { return hfz_must_fail(size) || size >= HFZ_MAYFAIL_SIZE; }

/* ---- checks shared by the thread targets (mt, sched) --------------------- */
/* Failure tags of one target: stored reproducers match on them, so each
 * target keeps its own names. */
typedef struct hfz_tags { const char *align, *usable, *zero, *null, *err; } hfz_tags;

/* A fresh block: alignment, usable size >= request, calloc's zero bytes. */
static inline void hfz_check_fresh(const hfz_tags *t, void *p, size_t size, size_t align, int zeroed,
                                   const char *what) {
  size_t a = align < 16 ? 16 : align;
  if ((uintptr_t)p % a) hfz_fail(t->align, "%s(%zu, align %zu) = %p is misaligned", what, size, align, p);
  size_t us = hak_malloc_usable_size(p);
  if (us < size) hfz_fail(t->usable, "%s(%zu) = %p: usable %zu", what, size, p, us);
  if (zeroed) {
    size_t off = hfz_verify_zero(p, size, 0);
    if (off != (size_t)-1) hfz_fail(t->zero, "%s(%zu) = %p: byte %zu nonzero", what, size, p, off);
  }
}

/* The allocation an mt-format record asks for (MALLOC, CALLOC or ALIGNED
 * with aux): made through the public API; *size becomes what was asked
 * for, *align, *zero and *what describe the call. */
static inline void *hfz_mt_alloc(unsigned op, unsigned aux, size_t *size, size_t *align, int *zero,
                                 const char **what) {
  size_t n = 1 + aux % 4;
  *align = 16; *zero = 0; *what = "hak_malloc";
  if (op == HFZ_MT_MALLOC) return hak_malloc(*size);
  if (op == HFZ_MT_CALLOC) {
    *what = "hak_calloc"; *zero = 1; *size = (*size / n) * n;
    return hak_calloc(n, *size / n);
  }
  *what = "hak_aligned_alloc";
  *align = (size_t)1 << (aux % (HFZ_MAX_ALIGN_LOG + 1));
  return hak_aligned_alloc(*align, *size);
}

/* An allocation returned NULL: only sizes that may fail may, with ENOMEM. */
static inline void hfz_check_null(const hfz_tags *t, size_t size, int err, const char *what) {
  if (size < HFZ_MAYFAIL_SIZE && !hfz_must_fail(size)) hfz_fail(t->null, "%s(%zu) returned NULL", what, size);
  if (err != ENOMEM) hfz_fail(t->err, "%s(%zu) returned NULL with errno %d", what, size, err);
}

#endif
