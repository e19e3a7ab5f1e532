// Property 5: API semantics of the public entry points (glibc's contract, see
// include/hakmem.h): calloc returns zeroed memory even when it reuses dirty
// blocks; realloc preserves the content and keeps the old block intact when
// it fails; aligned variants are aligned; usable size >= request; every
// pointer is 16-byte aligned; impossible sizes fail with ENOMEM; invalid
// alignments with EINVAL leaving *out alone; realloc(p, 0) frees.
#include <unistd.h>

#include "props.h"

namespace {

const size_t kHuge[] = {SIZE_MAX, SIZE_MAX - 15, SIZE_MAX - 4095, (size_t)PTRDIFF_MAX + 1, (size_t)1 << 63};

void basic(void *p, size_t size, const char *what) {
  if (!p) PFAIL("%s(%zu) = NULL", what, size);
  if ((uintptr_t)p % 16) PFAIL("%s(%zu) = %p not 16-byte aligned", what, size, p);
  size_t us = hak_malloc_usable_size(p);
  if (us < size) PFAIL("%s(%zu) = %p: usable %zu < request", what, size, p, us);
  if (hak_block_state(p) != HAK_BLOCK_LIVE) PFAIL("%s(%zu) = %p not LIVE", what, size, p);
}

}  // namespace

PROP("api-calloc-zero") {
  return rc::check("p5 api: calloc zeroes, also over reused dirty blocks; overflow -> ENOMEM", [] {
    auto elems = *rc::gen::container<std::vector<std::pair<size_t, size_t>>>(
        rc::gen::pair(rc::gen::inRange<size_t>(0, 65), rc::gen::weightedOneOf<size_t>(
                                                            {{4, rc::gen::inRange<size_t>(0, 257)},
                                                             {1, rc::gen::inRange<size_t>(0, 8193)}})));
    props::isolated([&] {
      for (auto &e : elems) {
        size_t total = e.first * e.second;
        // Dirty blocks of that class first, so calloc may get reused memory.
        void *d[4];
        for (auto &x : d) {
          x = hak_malloc(total);
          basic(x, total, "malloc");
          memset(x, 0xa5, hak_malloc_usable_size(x));
        }
        for (auto &x : d) hak_free(x);
        void *p = hak_calloc(e.first, e.second);
        basic(p, total, "calloc");
        for (size_t i = 0; i < total; i++)
          if (((unsigned char *)p)[i]) PFAIL("calloc(%zu, %zu) = %p: byte %zu is %#x", e.first, e.second, p, i,
                                             ((unsigned char *)p)[i]);
        hak_free(p);
      }
      errno = 0;
      if (hak_calloc(SIZE_MAX / 2 + 2, 2) != nullptr || errno != ENOMEM) PFAIL("calloc overflow: not NULL/ENOMEM");
      errno = 0;
      if (hak_reallocarray(nullptr, SIZE_MAX / 16 + 1, 16) != nullptr || errno != ENOMEM)
        PFAIL("reallocarray overflow: not NULL/ENOMEM");
    });
  });
}

PROP("api-realloc") {
  return rc::check("p5 api: realloc keeps content; failure keeps the old block; realloc(p, 0) frees", [] {
    auto steps = *rc::gen::nonEmpty(rc::gen::container<std::vector<size_t>>(props::gen_size()));
    size_t huge = *rc::gen::elementOf(std::vector<size_t>(std::begin(kHuge), std::end(kHuge)));
    bool inject = *rc::gen::arbitrary<bool>();
    props::isolated([&] {
      size_t cur = steps[0] ? steps[0] : 1;
      unsigned char *p = (unsigned char *)hak_realloc(nullptr, cur);  // realloc(NULL, n) == malloc(n)
      basic(p, cur, "realloc(NULL)");
      props::fill(p, cur, 7);
      for (size_t i = 1; i < steps.size(); i++) {
        size_t n = steps[i] ? steps[i] : 1;
        unsigned char *q = (unsigned char *)hak_realloc(p, n);
        basic(q, n, "realloc");
        size_t bad;
        if (!props::intact(q, std::min(cur, n), 7, &bad))
          PFAIL("realloc(%p, %zu -> %zu) = %p lost byte %zu", (void *)p, cur, n, (void *)q, bad);
        if (n > cur) for (size_t k = cur; k < n; k++) q[k] = props::pat(7, k);
        p = q;
        cur = n;
        // An impossible size fails with ENOMEM and leaves p alone.
        errno = 0;
        void *f = hak_realloc(p, huge);
        if (f || errno != ENOMEM) PFAIL("realloc(%p, %zu) = %p errno %d: expected NULL/ENOMEM", (void *)p, huge, f, errno);
        if (hak_block_state(p) != HAK_BLOCK_LIVE || !props::intact(p, cur, 7, &bad))
          PFAIL("failed realloc(%p, %zu) damaged the old block", (void *)p, huge);
      }
      // OS failure: growing into a new large mapping may fail, never damage p.
      if (inject && hak_os_fail_nth(1) == 0) {
        size_t n = std::max<size_t>(cur, HAK_MID_MAX) * 2 + 4096;
        errno = 0;
        void *q = hak_realloc(p, n);
        hak_os_fail_nth(0);
        if (!q) {
          size_t bad;
          if (errno != ENOMEM) PFAIL("realloc failed under OS failure with errno %d", errno);
          if (hak_block_state(p) != HAK_BLOCK_LIVE || !props::intact(p, cur, 7, &bad))
            PFAIL("realloc failed under OS failure and damaged the old block %p", (void *)p);
        } else {
          basic(q, n, "realloc (OS failure armed)");
          p = (unsigned char *)q;
        }
      }
      errno = 0;
      void *z = hak_realloc(p, 0);  // glibc: frees, returns NULL
      if (z) PFAIL("realloc(p, 0) returned %p, expected NULL", z);
      if (hak_block_state(p) == HAK_BLOCK_LIVE) PFAIL("realloc(%p, 0) did not free", (void *)p);
    });
  });
}

PROP("api-aligned") {
  return rc::check("p5 api: aligned_alloc/posix_memalign/memalign/valloc/pvalloc aligned; EINVAL leaves *out", [] {
    int lg = *rc::gen::inRange(0, 23);
    size_t align = (size_t)1 << lg;
    size_t size = *props::gen_size();
    size_t bad_align = *rc::gen::element<size_t>(0, 1, 2, 4, 3, 24, 48, 1000, (size_t)1 << 63 | 16);
    props::isolated([&] {
      size_t a = std::max<size_t>(align, 16);
      size_t pg = (size_t)sysconf(_SC_PAGESIZE);
      void *p = hak_aligned_alloc(align, size);
      basic(p, size, "aligned_alloc");
      if ((uintptr_t)p % a) PFAIL("aligned_alloc(%zu, %zu) = %p misaligned", align, size, p);
      memset(p, 1, size);
      void *q = (void *)0x1234;
      if (align >= sizeof(void *)) {
        int r = hak_posix_memalign(&q, align, size);
        if (r != 0) PFAIL("posix_memalign(%zu, %zu) = %d", align, size, r);
        basic(q, size, "posix_memalign");
        if ((uintptr_t)q % a) PFAIL("posix_memalign(%zu, %zu) = %p misaligned", align, size, q);
        hak_free(q);
      }
      q = (void *)0x1234;
      int r = hak_posix_memalign(&q, bad_align, size);
      if (r != EINVAL || q != (void *)0x1234)
        PFAIL("posix_memalign(bad alignment %zu) = %d, *out %p: expected EINVAL and *out untouched", bad_align, r, q);
      void *m = hak_memalign(align, size);
      basic(m, size, "memalign");
      if ((uintptr_t)m % a) PFAIL("memalign(%zu, %zu) = %p misaligned", align, size, m);
      void *v = hak_valloc(size);
      basic(v, size, "valloc");
      if ((uintptr_t)v % pg) PFAIL("valloc(%zu) = %p not page aligned", size, v);
      void *pv = hak_pvalloc(size);
      size_t rounded = (size + pg - 1) / pg * pg;
      basic(pv, rounded, "pvalloc");
      if ((uintptr_t)pv % pg) PFAIL("pvalloc(%zu) = %p not page aligned", size, pv);
      hak_free_aligned_sized(p, align, size);
      hak_free(m);
      hak_free(v);
      hak_free(pv);
      // Impossible sizes.
      for (size_t h : kHuge) {
        errno = 0;
        if (hak_aligned_alloc(align, h) || errno != ENOMEM) PFAIL("aligned_alloc(%zu, %zu): not NULL/ENOMEM", align, h);
        q = (void *)0x1234;
        if (align >= sizeof(void *) && hak_posix_memalign(&q, align, h) != ENOMEM)
          PFAIL("posix_memalign(%zu, %zu) != ENOMEM", align, h);
      }
    });
  });
}

PROP("api-usable") {
  return rc::check("p5 api: malloc usable >= request, 16-aligned, distinct; malloc(0) unique; ENOMEM", [] {
    auto sizes = *rc::gen::container<std::vector<size_t>>(props::gen_size());
    props::isolated([&] {
      std::vector<std::pair<void *, size_t>> live;
      for (size_t i = 0; i < sizes.size(); i++) {
        void *p = hak_malloc(sizes[i]);
        basic(p, sizes[i], "malloc");
        size_t us = hak_malloc_usable_size(p);
        props::fill(p, us, i);  // the whole usable size is the program's
        live.push_back({p, i});
      }
      for (auto &l : live) {
        size_t bad;
        if (!props::intact(l.first, hak_malloc_usable_size(l.first), l.second, &bad))
          PFAIL("block %p (usable %zu) overwritten at %zu: blocks overlap", l.first, hak_malloc_usable_size(l.first), bad);
      }
      void *z1 = hak_malloc(0), *z2 = hak_malloc(0);
      if (!z1 || !z2 || z1 == z2) PFAIL("malloc(0) twice = %p, %p: expected two unique pointers", z1, z2);
      hak_free(z1);
      hak_free(z2);
      hak_free(nullptr);
      for (size_t h : kHuge) {
        errno = 0;
        if (hak_malloc(h) || errno != ENOMEM) PFAIL("malloc(%zu): not NULL/ENOMEM", h);
      }
      for (size_t i = 0; i < live.size(); i++) {
        if (i % 2) hak_free_sized(live[i].first, sizes[live[i].second]);
        else hak_free(live[i].first);
      }
    });
  });
}
