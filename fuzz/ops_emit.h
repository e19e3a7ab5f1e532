/* fuzz/ops_emit.h: the fuzz/ops input format, shared by the interpreter
 * (fuzz/ops.c), the seed generator (fuzz/gen_seeds.c) and any instrument
 * that wants to write a reproducer the fuzz/ops replay binary can run
 * (the property suite).  Header-only: constants, the size tables, and
 * static inline writer functions.  The byte format is described in
 * fuzz/FORMAT.md; this header is its executable definition.
 *
 *   hfz_writer w; uint8_t buf[4096];
 *   hfz_init(&w, buf, sizeof buf, 1, HFZ_F_DEEP, 2);   // check every op, deep, 2 heaps
 *   hfz_malloc(&w, 0, 5, 1024);                         // heap 0: slot 5 = malloc(1024)
 *   hfz_free_by(&w, 1, 5);                              // heap 1 frees it (remote path)
 *   hfz_drain(&w, 0);
 *   if (!w.err) hfz_write_file(&w, "repro/found/my-case");
 */
#ifndef HAKFUZZ_OPS_EMIT_H
#define HAKFUZZ_OPS_EMIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HFZ_HEADER_LEN 4          /* flags, heaps, fill seed, HFZ_OOM_KEY / HFZ_LONG_KEY or neither */
#define HFZ_REC_LEN    8          /* one operation */
#define HFZ_SLOTS      64         /* block slots (slot byte & 63) */
#define HFZ_HEAPS      4          /* heap slots (heap byte & 3) */
#define HFZ_MAX_OPS    4096       /* records after this are ignored */

/* header byte 0 */
#define HFZ_F_EVERY_MASK 0x3f     /* checker every (b0 & 63) + 1 ops */
#define HFZ_F_DEEP       0x40     /* at each check: block states, visitor, all fills */
#define HFZ_F_KEEP       0x80     /* end of input: leave tiny/mid blocks to hak_debug_reset */
/* header byte 1: initial heaps = 1 + (b1 & 3); bit 4: bind heap 0 at start */
#define HFZ_H_BIND0      0x10

/* opcodes: op = byte0 % HFZ_OPCODE_MOD; HFZ_OP_COUNT.. alias common ops */
enum hfz_op {
  HFZ_OP_MALLOC = 0,  /* heap, slot, size */
  HFZ_OP_CALLOC,      /* heap, slot, size = total; aux: nmemb-1 (0..15), 63 = overflow */
  HFZ_OP_REALLOC,     /* heap, slot, size (empty slot: realloc(NULL); 0: free) */
  HFZ_OP_ALIGNED,     /* heap, slot, size; alignment 1 << (aux % 23) */
  HFZ_OP_FREE,        /* slot, freed by its owner heap (heap byte when the owner is not in a heap slot) */
  HFZ_OP_FREE_BY,     /* heap, slot: freed as heap (remote path when not the owner) */
  HFZ_OP_DRAIN,       /* heap */
  HFZ_OP_ABANDON,     /* heap: thread exit; the heap slot becomes empty */
  HFZ_OP_ADOPT,       /* heap: an empty heap slot adopts the oldest abandoned heap */
  HFZ_OP_COLLECT,     /* heap: drain, flush cache, release empty slabs/segments */
  HFZ_OP_USABLE,      /* slot: malloc_usable_size, classify, fill */
  HFZ_OP_TRIM,        /* hak_trim() when aux == 0, byte 3 == HFZ_TRIM_KEY and the header has HFZ_OOM_KEY, else collect heap */
  HFZ_OP_PALLOC,      /* public API as the bound heap: variant aux & 15, alignment sel (aux>>4)|(x<<2) */
  HFZ_OP_PFREE,       /* public API free: variant aux & 3 */
  HFZ_OP_BIND,        /* heap; aux & 1: unbind instead */
  HFZ_OP_DESTROY,     /* heap: destroy with its live blocks */
  HFZ_OP_CHECK,       /* run the checker now; aux & 1: deep */
  HFZ_OP_OSFAIL,      /* hak_os_fail_nth(1 + value % 32) when the header has HFZ_OOM_KEY (else nothing); NULL/ENOMEM allowed only in the record that consumes it */
  HFZ_OP_REFILL,      /* slot: verify and rewrite the fill pattern */
  HFZ_OP_BULK_ALLOC,  /* heap, size: HFZ_BULK_COUNT(aux) blocks into the bulk pool (at most HFZ_BULK live) */
  HFZ_OP_BULK_FREE,   /* heap: free bulk blocks, pattern aux & 3 (all, odd, older half, hashed by v);
                         x & 1: freed by heap (remote path), else by owner */
  HFZ_OP_COUNT
};
#define HFZ_OPCODE_MOD 24
/* byte0 % 24 in 21..23 decodes to these (more allocation pressure) */
#define HFZ_OP_ALIASES { HFZ_OP_MALLOC, HFZ_OP_FREE, HFZ_OP_FREE_BY }
/* hak_trim unmaps every cache, so the memory of the next inputs is mapped
 * and faulted in afresh (~16 us a 4 KiB page on the VMs we measure on):
 * one trim in 1/24 of random records made it most of a campaign's time.
 * A record trims only with this key in byte 3 (and aux 0); the dictionary
 * and CMP tracing find it, random bytes rarely do.  Other trim records
 * collect their heap. */
#define HFZ_TRIM_KEY 0x54u
/* Out-of-memory inputs.  A trim or an injected OS failure (whose retry
 * gives caches back) makes the rest of the input and the reset after it map
 * and fault memory afresh: in corpus/ops at 1bb3233 the 386 inputs with an
 * osfail or keyed trim record ran at 280 exec/s, the other 741 at 9,300.
 * So trim and osfail records act only in an input whose header byte 3 is
 * this key (elsewhere they are no-ops; trim collects its heap).  Such
 * inputs live in corpus/ops-oom and get their own fuzzer instance in the
 * campaign, which keeps them away from the fast one; the writer below sets
 * the key when it emits either record. */
#define HFZ_OOM_KEY 0x4fu
/* Long inputs.  An input's work budget (fuzz/ops.c GAS) is 1024 units,
 * about half a millisecond; one whose header byte 3 is this key, or
 * HFZ_OOM_KEY, gets eight times that: a calloc of a few MiB (zeroes
 * written and read, 2 units a page), a cache filled to its limit.  Rare
 * in mutated headers (one value of 256), so the fast instance stays fast. */
#define HFZ_LONG_KEY 0x4cu
#define HFZ_BULK 8192             /* bulk pool capacity */
/* Blocks per bulk_alloc: 1 << (aux % 13), 1..4096.  Powers of two, so a
 * random aux asks for a median of 64 blocks (inputs stay fast) while
 * 4096, one full slab of the smallest class, stays one record away. */
#define HFZ_BULK_COUNT(aux) (1u << ((aux) % 13u))
enum hfz_bulk_pattern { HFZ_BF_ALL = 0, HFZ_BF_ODD, HFZ_BF_HALF, HFZ_BF_HASH };

/* size modes: mode = byte3 & 7, param = byte3 >> 3, v = LE32 bytes 4..7 */
enum hfz_size_mode {
  HFZ_SZ_TINY = 0,   /* v % 1025 */
  HFZ_SZ_SMALL,      /* v % 257 */
  HFZ_SZ_MID,        /* 1025 + v % 64512 */
  HFZ_SZ_LARGE,      /* 65537 + v % (1 << (16 + param % 8)): up to 8 MiB */
  HFZ_SZ_CLASS,      /* class_size(v % class_count) + param % 3 - 1 */
  HFZ_SZ_BOUNDARY,   /* hfz_boundary[v % n] */
  HFZ_SZ_HUGE,       /* hfz_huge[v % n]: impossible or may-fail sizes */
  HFZ_SZ_RAW         /* v exactly (v % (HFZ_RAW_MAX + 1)) */
};

/* PALLOC variants (aux & 15; 9..15 are malloc) */
enum hfz_plain {
  HFZ_P_MALLOC = 0, HFZ_P_CALLOC, HFZ_P_REALLOC, HFZ_P_REALLOCARRAY, HFZ_P_POSIX_MEMALIGN,
  HFZ_P_ALIGNED_ALLOC, HFZ_P_MEMALIGN, HFZ_P_VALLOC, HFZ_P_PVALLOC, HFZ_P_COUNT
};
/* PFREE variants (aux & 3) */
enum hfz_pfree { HFZ_PF_FREE = 0, HFZ_PF_SIZED, HFZ_PF_ALIGNED_SIZED, HFZ_PF_NULL_THEN_FREE };

/* PALLOC alignment selector (4 bits): the last three are invalid alignments
 * (posix_memalign must return EINVAL; the others use 16 instead).  The same
 * selector gives calloc/reallocarray nmemb = 1 + sel % 4, sel 15 = overflow. */
static const size_t hfz_plain_align[16] = {
  8, 16, 32, 64, 128, 256, 512, 1024, 4096, 8192, 65536,
  (size_t)2 << 20, (size_t)4 << 20, 3, 24, 0
};

static const size_t hfz_boundary[] = {
  0, 1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129,
  255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 1279, 1280, 1281,
  2047, 2048, 2049, 4095, 4096, 4097, 8191, 8192, 8193,
  16383, 16384, 16385, 32767, 32768, 32769, 65535, 65536, 65537,
  131071, 131072, 131073, 262143, 262144, 262145,
  (1u << 20) - 1, 1u << 20, (1u << 20) + 1,
  (2u << 20) - 4096, (2u << 20) - 1, 2u << 20, (2u << 20) + 1,
  (4u << 20) - 1, 4u << 20, (4u << 20) + 1,
};
#define HFZ_NBOUNDARY (sizeof hfz_boundary / sizeof hfz_boundary[0])

/* > PTRDIFF_MAX must fail with ENOMEM; the rest cannot be mapped in a
 * 47-bit address space and may only fail (ENOMEM).  Sizes that could
 * succeed (1 TiB with overcommit) are left out on purpose: under ASan a
 * successful allocation unpoisons its whole range (1/8 of it in shadow). */
static const size_t hfz_huge[] = {
  SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 15, SIZE_MAX - 4095, SIZE_MAX - (4u << 20),
  (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX, (size_t)PTRDIFF_MAX - 4095,
  (size_t)1 << 62, (size_t)1 << 48, ((size_t)1 << 47) + 1,
};
#define HFZ_NHUGE (sizeof hfz_huge / sizeof hfz_huge[0])

/* Largest RAW size (bigger values wrap): keeps ASan shadow and RSS bounded. */
#define HFZ_RAW_MAX ((size_t)64 << 20)
/* Sizes at or above this may legitimately fail with ENOMEM. */
#define HFZ_MAYFAIL_SIZE ((size_t)1 << 30)
#define HFZ_MAX_ALIGN_LOG 22      /* 4 MiB */

/* ---- writer --------------------------------------------------------------- */
typedef struct hfz_writer {
  uint8_t *buf;
  size_t   cap, len;
  int      err;                   /* set when something did not fit or is not encodable */
} hfz_writer;

static inline void hfz__put(hfz_writer *w, uint8_t b) {
  if (w->len < w->cap) w->buf[w->len++] = b; else w->err = 1;
}

/* check_every: 1..64 (checker after every k-th op); flags: HFZ_F_DEEP | HFZ_F_KEEP;
 * nheaps: 1..4 heaps created at the start. */
static inline void hfz_init(hfz_writer *w, uint8_t *buf, size_t cap, unsigned check_every,
                            unsigned flags, unsigned nheaps) {
  w->buf = buf; w->cap = cap; w->len = 0; w->err = 0;
  if (check_every < 1) check_every = 1;
  if (check_every > 64) check_every = 64;
  if (nheaps < 1) nheaps = 1;
  if (nheaps > 4) nheaps = 4;
  hfz__put(w, (uint8_t)((check_every - 1) | (flags & (HFZ_F_DEEP | HFZ_F_KEEP))));
  hfz__put(w, (uint8_t)(nheaps - 1));
  hfz__put(w, 0);
  hfz__put(w, 0);
}

/* A raw record. */
static inline void hfz_rec(hfz_writer *w, unsigned op, unsigned heap, unsigned aux, unsigned slot,
                           unsigned x, unsigned mode, unsigned param, uint32_t v) {
  hfz__put(w, (uint8_t)op);
  hfz__put(w, (uint8_t)((heap & 3) | ((aux & 63) << 2)));
  hfz__put(w, (uint8_t)((slot & 63) | ((x & 3) << 6)));
  hfz__put(w, (uint8_t)((mode & 7) | ((param & 31) << 3)));
  hfz__put(w, (uint8_t)v); hfz__put(w, (uint8_t)(v >> 8));
  hfz__put(w, (uint8_t)(v >> 16)); hfz__put(w, (uint8_t)(v >> 24));
}

/* Encode an exact size: RAW up to 64 MiB, else an entry of hfz_huge. */
static inline int hfz__size(hfz_writer *w, size_t size, unsigned *mode, uint32_t *v) {
  if (size <= HFZ_RAW_MAX) { *mode = HFZ_SZ_RAW; *v = (uint32_t)size; return 0; }
  for (unsigned i = 0; i < HFZ_NHUGE; i++)
    if (hfz_huge[i] == size) { *mode = HFZ_SZ_HUGE; *v = i; return 0; }
  w->err = 1; *mode = HFZ_SZ_RAW; *v = 0;
  return -1;
}

static inline void hfz__sized(hfz_writer *w, unsigned op, unsigned heap, unsigned aux,
                              unsigned slot, unsigned x, size_t size) {
  unsigned mode; uint32_t v;
  hfz__size(w, size, &mode, &v);
  hfz_rec(w, op, heap, aux, slot, x, mode, 0, v);
}

static inline unsigned hfz__log2(size_t a) { unsigned l = 0; while (((size_t)1 << l) < a) l++; return l; }

static inline void hfz_malloc(hfz_writer *w, unsigned heap, unsigned slot, size_t size) {
  hfz__sized(w, HFZ_OP_MALLOC, heap, 0, slot, 0, size);
}
/* nmemb 1..16 with nmemb * elem exactly representable; nmemb 0 = overflowing product */
static inline void hfz_calloc(hfz_writer *w, unsigned heap, unsigned slot, size_t nmemb, size_t elem) {
  if (nmemb == 0) { hfz__sized(w, HFZ_OP_CALLOC, heap, 63, slot, 0, elem); return; }
  if (nmemb > 16) w->err = 1;
  hfz__sized(w, HFZ_OP_CALLOC, heap, (unsigned)(nmemb - 1), slot, 0, nmemb * elem);
}
static inline void hfz_realloc(hfz_writer *w, unsigned heap, unsigned slot, size_t size) {
  hfz__sized(w, HFZ_OP_REALLOC, heap, 0, slot, 0, size);
}
/* alignment: power of two, 1 .. 4 MiB */
static inline void hfz_aligned(hfz_writer *w, unsigned heap, unsigned slot, size_t align, size_t size) {
  unsigned l = hfz__log2(align);
  if (((size_t)1 << l) != align || l > HFZ_MAX_ALIGN_LOG) w->err = 1;
  hfz__sized(w, HFZ_OP_ALIGNED, heap, l, slot, 0, size);
}
static inline void hfz_free(hfz_writer *w, unsigned fallback_heap, unsigned slot) {
  hfz_rec(w, HFZ_OP_FREE, fallback_heap, 0, slot, 0, 0, 0, 0);
}
static inline void hfz_free_by(hfz_writer *w, unsigned heap, unsigned slot) {
  hfz_rec(w, HFZ_OP_FREE_BY, heap, 0, slot, 0, 0, 0, 0);
}
static inline void hfz_drain(hfz_writer *w, unsigned heap)   { hfz_rec(w, HFZ_OP_DRAIN, heap, 0, 0, 0, 0, 0, 0); }
static inline void hfz_abandon(hfz_writer *w, unsigned heap) { hfz_rec(w, HFZ_OP_ABANDON, heap, 0, 0, 0, 0, 0, 0); }
static inline void hfz_adopt(hfz_writer *w, unsigned heap)   { hfz_rec(w, HFZ_OP_ADOPT, heap, 0, 0, 0, 0, 0, 0); }
static inline void hfz_collect(hfz_writer *w, unsigned heap) { hfz_rec(w, HFZ_OP_COLLECT, heap, 0, 0, 0, 0, 0, 0); }
static inline void hfz_destroy(hfz_writer *w, unsigned heap) { hfz_rec(w, HFZ_OP_DESTROY, heap, 0, 0, 0, 0, 0, 0); }
static inline void hfz_bind(hfz_writer *w, unsigned heap)    { hfz_rec(w, HFZ_OP_BIND, heap, 0, 0, 0, 0, 0, 0); }
static inline void hfz_unbind(hfz_writer *w)                 { hfz_rec(w, HFZ_OP_BIND, 0, 1, 0, 0, 0, 0, 0); }
static inline void hfz_usable(hfz_writer *w, unsigned slot)  { hfz_rec(w, HFZ_OP_USABLE, 0, 0, slot, 0, 0, 0, 0); }
static inline void hfz_refill(hfz_writer *w, unsigned slot)  { hfz_rec(w, HFZ_OP_REFILL, 0, 0, slot, 0, 0, 0, 0); }
/* count: a power of two, 1..4096 */
static inline void hfz_bulk_alloc(hfz_writer *w, unsigned heap, unsigned count, size_t size) {
  unsigned aux = 0;
  while (aux < 12 && HFZ_BULK_COUNT(aux) < count) aux++;
  if (HFZ_BULK_COUNT(aux) != count) w->err = 1;
  hfz__sized(w, HFZ_OP_BULK_ALLOC, heap, aux, 0, 0, size);
}
/* pattern: enum hfz_bulk_pattern; remote: freed by heap instead of the owner */
static inline void hfz_bulk_free(hfz_writer *w, unsigned heap, unsigned pattern, int remote, uint32_t hash) {
  hfz_rec(w, HFZ_OP_BULK_FREE, heap, pattern & 3, 0, remote ? 1 : 0, HFZ_SZ_RAW, 0, hash);
}
static inline void hfz_oom(hfz_writer *w) { if (w->cap > 3 && w->len > 3) w->buf[3] = HFZ_OOM_KEY; }
static inline void hfz_long(hfz_writer *w) { if (w->cap > 3 && w->len > 3 && w->buf[3] != HFZ_OOM_KEY) w->buf[3] = HFZ_LONG_KEY; }
static inline void hfz_trim(hfz_writer *w) { hfz_oom(w); hfz_rec(w, HFZ_OP_TRIM, 0, 0, 0, 0, HFZ_TRIM_KEY & 7, HFZ_TRIM_KEY >> 3, 0); }
static inline void hfz_check(hfz_writer *w, int deep)        { hfz_rec(w, HFZ_OP_CHECK, 0, deep ? 1 : 0, 0, 0, 0, 0, 0); }
/* make the k-th OS map/commit call from now fail (k 1..32) */
static inline void hfz_osfail(hfz_writer *w, unsigned k) {
  hfz_oom(w);
  hfz_rec(w, HFZ_OP_OSFAIL, 0, 0, 0, 0, HFZ_SZ_RAW, 0, k ? k - 1 : 0);
}

/* Public API as the bound heap (binds/creates one first when unbound).
 * sel: index into hfz_plain_align (aligned variants), or nmemb selector
 * (calloc, reallocarray: nmemb = 1 + sel % 4, 15 = overflow). */
static inline void hfz_plain_alloc(hfz_writer *w, unsigned variant, unsigned slot, unsigned sel, size_t size) {
  hfz__sized(w, HFZ_OP_PALLOC, 0, (variant & 15) | ((sel & 3) << 4), slot, (sel >> 2) & 3, size);
}
static inline void hfz_plain_free(hfz_writer *w, unsigned variant, unsigned slot) {
  hfz_rec(w, HFZ_OP_PFREE, 0, variant & 3, slot, 0, 0, 0, 0);
}

/* ---- fuzz/mt: the same record layout, run by 2-4 real threads ------------------
 * header: b0 & 3 -> threads = 2 + (b0 & 3) % 3; b2 fill seed.  Record:
 * thread = byte1 & 3 (mod threads), aux = byte1 >> 2, slot = byte2 & 31 (the
 * thread's own slots), xfer = value % HFZ_MT_XFER for SEND/RECV.  SYNC is
 * global: every thread finishes the phase, then the heaps are checked. */
#define HFZ_MT_SLOTS 32
#define HFZ_MT_XFER  16
enum hfz_mt_op {
  HFZ_MT_MALLOC = 0, HFZ_MT_CALLOC, HFZ_MT_REALLOC, HFZ_MT_ALIGNED, HFZ_MT_FREE,
  HFZ_MT_SEND,       /* swap own slot with transfer slot */
  HFZ_MT_RECV_FREE,  /* take a transfer slot and free it (remote free) */
  HFZ_MT_RECV,       /* take a transfer slot into own slot */
  HFZ_MT_DRAIN, HFZ_MT_COLLECT,
  HFZ_MT_EXIT,       /* unbind + abandon own heap; the next allocation creates or adopts */
  HFZ_MT_SYNC,       /* global phase boundary + checker */
  HFZ_MT_VERIFY,     /* own slot: fill pattern, usable size */
  HFZ_MT_YIELD,
  HFZ_MT_COUNT
};
#define HFZ_MT_OPCODE_MOD 16      /* 14, 15 alias MALLOC, SEND */

static inline void hfz_mt_init(hfz_writer *w, uint8_t *buf, size_t cap, unsigned nthreads) {
  w->buf = buf; w->cap = cap; w->len = 0; w->err = 0;
  if (nthreads < 2 || nthreads > 4) w->err = 1;
  hfz__put(w, (uint8_t)((nthreads - 2) & 3));
  hfz__put(w, 0); hfz__put(w, 0); hfz__put(w, 0);
}
/* fuzz/mt header byte 1: the threads really exit at the end of the input
 * (the thread-exit path); otherwise they abandon their heaps and wait for
 * the next input (fuzz/mt.c's pool). */
#define HFZ_MT_EXIT_KEY 0x58u
static inline void hfz_mt_real_exit(hfz_writer *w) { if (w->len > 1) w->buf[1] = HFZ_MT_EXIT_KEY; }
static inline void hfz_mt(hfz_writer *w, unsigned op, unsigned thread, unsigned slot, size_t size_or_xfer,
                          unsigned aux) {
  hfz__sized(w, op, thread, aux, slot, 0, size_or_xfer);
}

static inline int hfz_write_file(const hfz_writer *w, const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t n = fwrite(w->buf, 1, w->len, f);
  return (fclose(f) == 0 && n == w->len) ? 0 : -1;
}

#endif
