/* The only file that talks to the operating system about memory.
 *
 * Contract (repeated from internal.h): sizes are multiples of HAK_PAGE and
 * > 0; alignments are powers of two >= HAK_PAGE.
 *   hak__os_map(size, align)  zeroed RW memory aligned to align, or NULL
 *                             with errno ENOMEM; never MAP_FIXED over
 *                             anything.
 *   hak__os_unmap(p, size)    gives the range back; 0 or -1.
 *   hak__os_decommit(p, size) drops the pages (MADV_DONTNEED): they read as
 *                             zero on next touch; the range stays mapped.
 *   hak__os_hugepage(p, size) advice only (MADV_HUGEPAGE); failure harmless.
 *   hak__os_populate(p, size) prefault (MADV_POPULATE_WRITE); failure harmless.
 * Aligned mappings first try a hint (see next_hint), else map size + align
 * and trim both ends.
 * Failure injection (HAK_CHECK_LEVEL >= 2): hak_os_fail_nth(k) makes the
 * k-th map from now fail as if the kernel had refused. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>
#include "internal.h"

static hak_atomic_u64 hint_addr;      /* next address to try for an aligned map (0: not chosen) */
static hak_atomic_u64 fail_countdown; /* failure injection: 0 = off */

HAK_EXPORT int hak_os_fail_nth(long k) {
  if (HAK_CHECK_LEVEL < 2) return -1;
  hak_atomic_u64_store(&fail_countdown, (uint64_t)(k > 0 ? k : 0), HAK_RELAXED);
  return 0;
}

static int injected_failure(void) {
  if (HAK_CHECK_LEVEL < 2) return 0;
  uint64_t c = hak_atomic_u64_load(&fail_countdown, HAK_RELAXED);
  if (c == 0) return 0;
  return hak_atomic_u64_sub(&fail_countdown, 1, HAK_RELAXED) == 1;
}

static void *raw_map(void *hint, size_t size) {
  HAK_COUNT(os_map, 1);
  void *p = mmap(hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    if (hak__opt->verbose) hak__warn("hakmem: mmap of %lu bytes failed (errno %d)", (unsigned long)size, errno);
    return NULL;
  }
  return p;
}

static void raw_unmap(void *p, size_t size) {
  HAK_COUNT(os_unmap, 1);
  munmap(p, size);
}

/* Aligned mappings are hinted into a window of their own, [2 TiB, 64 TiB)
 * with a random start in its first TiB, far below where the kernel places
 * mappings top-down, so the hint is normally free and one mmap suffices.
 * The window sits below 2^47, the top of user space on x86-64 with 4-level
 * paging and under the 48 bits the address map covers (segmap.c): on
 * kernels that honour hints above 2^47 (x86-64 la57, arm64 with 52-bit
 * VAs) a hint that had drifted there would give hakmem addresses its map
 * cannot hold.
 * The hint moves only past a range a successful map took or found taken;
 * a refused map (ENOMEM) leaves it alone, so a failed huge request does
 * not push every later map off its aligned spot.  At the window's end it
 * wraps to the start.  A kernel that ignores the hints altogether (arm64
 * with 39-bit VAs, whose user space ends at 512 GiB; some sandboxes) gets
 * no more of them after HINT_MISSES_MAX misses in a row: each miss costs an
 * extra map and unmap.  Sanitizers keep their shadow memory around the
 * window: under them, no hints. */
#if defined(HAK__ASAN) || defined(HAK__MSAN) || defined(HAK__TSAN)
#define USE_HINTS 0
#else
#define USE_HINTS 1
#endif
#define HINT_WINDOW_LO   ((uintptr_t)2 << 40)
#define HINT_WINDOW_HI   ((uintptr_t)64 << 40)
#define HINT_MISSES_MAX  16u
static hak_atomic_u64 hint_misses;   /* misses in a row; >= HINT_MISSES_MAX: hints off */

#ifdef HAK_FUZZ
/* Fuzz builds: the window starts at its base, and hak_fuzz_os_reset
 * restarts it after each input, so every input maps the same addresses in
 * the same order (an advancing hint reached fresh segment-map leaves, one
 * extra OS call that moved an injected failure: 1 of 1127 corpus inputs
 * replayed differently).  Release builds have none of this. */
static uintptr_t window_start(void) { return HINT_WINDOW_LO; }
static uint64_t canon_hint;   /* where a reset restarts the hint: past the canonical caches (0: the start) */
HAK_EXPORT void hak_fuzz_os_reset(void);
HAK_EXPORT void hak_fuzz_os_reset(void) {
  hak_atomic_u64_store(&hint_addr, canon_hint, HAK_RELAXED);
  hak_atomic_u64_store(&hint_misses, 0, HAK_RELAXED);
}
/* hak_fuzz_canon (heap.c): restart = 1 before it maps its canonical caches
 * from the window's start, 0 after, so later resets start past them
 * (instead of probing their taken ranges, one wasted map each). */
void hak__os_fuzz_mark(int restart) {
  canon_hint = restart ? 0 : hak_atomic_u64_load(&hint_addr, HAK_RELAXED);
  hak_fuzz_os_reset();
}
/* Maps left before the injected failure (0: none armed, or consumed).
 * fuzz/ops accepts NULL + ENOMEM only from the operation during which an
 * armed failure was consumed, not from everything after an osfail. */
HAK_EXPORT long hak_fuzz_os_fail_pending(void);
HAK_EXPORT long hak_fuzz_os_fail_pending(void) { return (long)hak_atomic_u64_load(&fail_countdown, HAK_RELAXED); }
#else
static uintptr_t window_start(void) {
  return HINT_WINDOW_LO + (hak__os_random() & 0x3ff) * ((uintptr_t)1 << 30);
}
#endif

/* The aligned address to try for a map of size bytes, or 0 for none;
 * *seen is the hint word it was derived from, for hint_passed. */
static uintptr_t hint_for(size_t size, size_t align, uint64_t *seen) {
  if (!USE_HINTS || size > (HINT_WINDOW_HI - HINT_WINDOW_LO) / 4) return 0;
  if (hak_atomic_u64_load(&hint_misses, HAK_RELAXED) >= HINT_MISSES_MAX) return 0;
  *seen = hak_atomic_u64_load(&hint_addr, HAK_RELAXED);
  uintptr_t h = *seen ? (uintptr_t)*seen : window_start();
  h = (h + align - 1) & ~(uintptr_t)(align - 1);
  if (h + size > HINT_WINDOW_HI) h = (HINT_WINDOW_LO + align - 1) & ~(uintptr_t)(align - 1);
  return h;
}

/* [h, h+size) is now taken (by this map or by something already there):
 * the next hint starts after it, unless another thread moved it meanwhile. */
static void hint_passed(uint64_t seen, uintptr_t h, size_t size) {
  uint64_t expect = seen;
  (void)hak_atomic_u64_cas(&hint_addr, &expect, (uint64_t)(h + size), HAK_RELAXED, HAK_RELAXED);
}

/* Page-aligned memory for the checker's own scratch: never subject to
 * failure injection, which models the OS refusing the ALLOCATOR's maps (an
 * injected failure consumed here would both make the checker report a
 * false violation and move the failure away from the call it targeted). */
static void note_mapped(size_t size) {   /* hak__os_unmap subtracts it again */
  uint64_t now = hak_atomic_u64_add(&hak__ctr.mapped, size, HAK_RELAXED) + size;
  hak_atomic_u64_max(&hak__ctr.peak_mapped, now);
}

#ifdef HAK_FUZZ
/* Exactly [addr, addr + size), or NULL: hak_fuzz_canon repairs its
 * canonical caches in place.  Not subject to injected failures (the
 * harness, not the program, asks). */
void *hak__os_fuzz_map_at(uintptr_t addr, size_t size) {
  void *p = raw_map((void *)addr, size);
  if (p == NULL) return NULL;
  if ((uintptr_t)p != addr) {
    raw_unmap(p, size);
    return NULL;
  }
  note_mapped(size);
  return p;
}
#endif

void *hak__os_map_unfailing(size_t size) {
  void *p = raw_map(NULL, size);
  if (p == NULL) { errno = ENOMEM; return NULL; }
  note_mapped(size);
  return p;
}

void *hak__os_map(size_t size, size_t align) {
  if (injected_failure()) {
    errno = ENOMEM;
    return NULL;
  }
  void *p = NULL;
  uint64_t seen = 0;
  uintptr_t hint = align > HAK_PAGE ? hint_for(size, align, &seen) : 0;
  if (hint != 0) {
    p = raw_map((void *)hint, size);
    if (p != NULL) {
      hint_passed(seen, hint, size);   /* ours now, or taken before: skip it either way */
      if ((uintptr_t)p == hint) hak_atomic_u64_store(&hint_misses, 0, HAK_RELAXED);
      else hak_atomic_u64_add(&hint_misses, 1, HAK_RELAXED);
      if (((uintptr_t)p & (align - 1)) != 0) {
        raw_unmap(p, size);
        p = NULL;
      }
    } else {
      return (errno = ENOMEM), NULL;   /* the kernel refused the size, not the place */
    }
  }
  if (p == NULL && align <= HAK_PAGE) {
    p = raw_map(NULL, size);
    if (p == NULL) { errno = ENOMEM; return NULL; }
  }
  if (p == NULL) {
    size_t over = size + align;
    if (over < size) { errno = ENOMEM; return NULL; }
    char *raw = raw_map(NULL, over);
    if (raw == NULL) { errno = ENOMEM; return NULL; }
    uintptr_t a = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = a - (uintptr_t)raw, tail = over - head - size;
    if (head) raw_unmap(raw, head);
    if (tail) raw_unmap((char *)a + size, tail);
    p = (void *)a;
  }
  note_mapped(size);
  return p;
}

int hak__os_unmap(void *p, size_t size) {
  hak_atomic_u64_sub(&hak__ctr.mapped, size, HAK_RELAXED);
  HAK_COUNT(os_unmap, 1);
  hak_track_unmapped(p, size);
  return munmap(p, size);
}

/* Fault in [p, p+size) with one system call instead of one page fault per
 * 4 KiB page: a fault costs ~20 us on this kind of VM, populating ~8 us a
 * page.  Advice only: a kernel without MADV_POPULATE_WRITE (before 5.14)
 * answers EINVAL once and is not asked again; other failures (ENOMEM)
 * just leave the pages to be faulted in on use. */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
static hak_atomic_u32 populate_unsupported;   /* set once, by whichever thread learns it */
void hak__os_populate(void *p, size_t size) {
  if (hak_atomic_u32_load(&populate_unsupported, HAK_RELAXED)) return;
  int saved = errno;   /* a successful malloc leaves errno alone */
  HAK_COUNT(os_madvise, 1);
  HAK_COUNT(os_commit, 1);
  if (madvise(p, size, MADV_POPULATE_WRITE) != 0 && errno == EINVAL)
    hak_atomic_u32_store(&populate_unsupported, 1, HAK_RELAXED);
  errno = saved;
}

int hak__os_decommit(void *p, size_t size) {
  HAK_COUNT(os_madvise, 1);
  HAK_COUNT(os_decommit, 1);
  return madvise(p, size, MADV_DONTNEED);
}

void hak__os_hugepage(void *p, size_t size) {
#ifdef MADV_HUGEPAGE
  HAK_COUNT(os_madvise, 1);
  (void)madvise(p, size, MADV_HUGEPAGE);
#else
  (void)p; (void)size;
#endif
}

/* Entropy without a system call that could fail or allocate: the kernel's
 * AT_RANDOM bytes mixed with addresses ASLR placed and a call counter, so
 * successive calls differ. */
uintptr_t hak__os_random(void) {
  static hak_atomic_u64 calls;
  uintptr_t x = hak_atomic_u64_add(&calls, 1, HAK_RELAXED) * 0xd1b54a32d192ed03ull;
  const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
  if (r) for (int i = 0; i < 8; i++) x ^= (uintptr_t)r[i] << (8 * i);
  x ^= (uintptr_t)&x * 0x9e3779b97f4a7c15ull;
  x ^= (uintptr_t)&hint_addr >> 7;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 29;
  return x | 1;   /* never 0: a zeroed word must not look like the key */
}

/* VmHWM from /proc/self/status with a stack buffer (no stdio, no malloc). */
int hak__read_proc_status_vmhwm(unsigned long *kib) {
  char buf[4096];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  for (char *p = buf; (p = strstr(p, "VmHWM:")) != NULL; p++) {
    unsigned long v = 0;
    for (p += 6; *p == ' ' || *p == '\t'; p++) {}
    for (; *p >= '0' && *p <= '9'; p++) v = v * 10 + (unsigned long)(*p - '0');
    *kib = v;
    return 0;
  }
  return -1;
}

/* What the machine could ever back: RAM + swap.  The default for
 * HAKMEM_LARGE_MAX (options.c): every map is MAP_NORESERVE, so without it
 * malloc(16 TiB) would succeed where the kernel's own overcommit heuristic
 * (and glibc) says no.  0 when the kernel will not say. */
size_t hak__os_backable_bytes(void) {
  struct sysinfo si;
  if (sysinfo(&si) != 0) return 0;
  unsigned long unit = si.mem_unit ? si.mem_unit : 1;
  unsigned long pages = si.totalram + si.totalswap;
  if (pages < si.totalram || (unit > 1 && pages > (unsigned long)-1 / unit)) return (size_t)-1;
  return (size_t)(pages * unit);
}

/* The options page becomes read-only once parsed (options.c). */
void hak__os_protect_readonly(void *p, size_t size) { (void)mprotect(p, size, PROT_READ); }

/* A private copy of stderr for the exit report: programs such as coreutils
 * close fd 2 before exit handlers run. */
int hak__os_dup_stderr(void) { return fcntl(2, F_DUPFD_CLOEXEC, 3); }

/* Resize the mapping [p, p+old_size) to new_size (issue 19: large realloc).
 * fixed == NULL: in place only, without moving (fails when the address
 * space after the range is taken).  Else move the pages, contents and
 * all, onto fixed, a range of new_size bytes the caller mapped with
 * hak__os_map: the kernel replaces it atomically; on failure both ranges
 * stay as they were.  The range must be one mapping (one VMA).  Returns
 * the new address or NULL; errno is left alone (the caller falls back to
 * copying, and a successful realloc must not change errno).  Not subject
 * to failure injection, which models refused maps (tests/faults counts
 * them); a refused reservation before a move is. */
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
void *hak__os_remap(void *p, size_t old_size, size_t new_size, void *fixed) {
  int saved = errno;
  HAK_COUNT(os_map, 1);
  void *q = fixed == NULL ? mremap(p, old_size, new_size, 0)
                          : mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, fixed);
  errno = saved;
  if (q == MAP_FAILED) return NULL;
  if (fixed == NULL) {
    if (new_size > old_size) note_mapped(new_size - old_size);
    else hak_atomic_u64_sub(&hak__ctr.mapped, old_size - new_size, HAK_RELAXED);
  } else {
    hak_atomic_u64_sub(&hak__ctr.mapped, old_size, HAK_RELAXED);   /* fixed was counted when mapped */
    hak_track_unmapped(p, old_size);
  }
  return q;
}
