// Property 7: realloc across tiers (issue 19).  A chain of reallocs of one
// block whose sizes cross tiny -> mid -> large -> mid -> tiny repeatedly
// (sizes near the tier edges and the 2 MiB granule are likely), with the
// glibc edge cases on the way: realloc(NULL, n) is malloc(n), realloc(p, 0)
// frees p and returns NULL, realloc(NULL, 0) is malloc(0) (a unique block).
// After every step:
//   - the result is non-NULL, 16-byte aligned, LIVE, malloc_usable_size >=
//     the request;
//   - the prefix min(old request, new request) is byte-exact (the pattern
//     written over the old request);
//   - a few neighbour blocks in every tier, written once, are intact (a
//     copy of the wrong length spills into them or into free blocks);
//   - hak_check_all() is clean.
// rapidcheck shrinks a failing chain to its fewest steps; the chain is also
// written as a fuzz/ops input (heap 0, slot 0) under repro/props/.
#include "props.h"

namespace {

enum Kind { RESIZE, ZERO };  // ZERO: realloc(p, 0), then realloc(NULL, size)
struct Step {
  Kind kind;
  size_t size;
};

std::string show(const std::vector<Step> &steps) {
  std::string s;
  size_t cur = 0;
  bool live = false;
  for (const Step &st : steps) {
    if (st.kind == ZERO) s += props::fmt("realloc(p, 0) -> NULL; p = realloc(NULL, %zu)\n", st.size), live = true;
    else if (!live) s += props::fmt("p = realloc(NULL, %zu)\n", st.size), live = true;
    else s += props::fmt("p = realloc(p, %zu -> %zu)\n", cur, st.size);
    cur = st.size;
  }
  return s + "free(p)\n";
}

rc::Gen<size_t> tier(int t) {
  using rc::gen::inRange;
  using rc::gen::element;
  const size_t G = (size_t)2 << 20;   // the large tier's granule
  switch (t) {
    case 0: return rc::gen::weightedOneOf<size_t>({{4, inRange<size_t>(1, HAK_TINY_MAX + 1)},
                                                   {1, element<size_t>(1, 16, 17, HAK_TINY_MAX - 1, HAK_TINY_MAX)}});
    case 1: return rc::gen::weightedOneOf<size_t>({{4, inRange<size_t>(HAK_TINY_MAX + 1, HAK_MID_MAX + 1)},
                                                   {1, element<size_t>(HAK_TINY_MAX + 1, HAK_MID_MAX / 2 + 1,
                                                                       HAK_MID_MAX - 16, HAK_MID_MAX)}});
    default: return rc::gen::weightedOneOf<size_t>({{4, inRange<size_t>(HAK_MID_MAX + 1, 6 * G)},
                                                    {1, element<size_t>(HAK_MID_MAX + 1, G - 4096, G, G + 1,
                                                                        3 * G + 4096)}});
  }
}

// One round trip tiny -> mid -> large -> mid -> tiny (sizes random per tier),
// sometimes with a realloc(p, 0) in place of a step.
rc::Gen<std::vector<Step>> round_trip() {
  return rc::gen::exec([] {
    std::vector<Step> v;
    for (int t : {0, 1, 2, 1}) {
      bool zero = *rc::gen::weightedElement<bool>({{9, false}, {1, true}});
      v.push_back(Step{zero ? ZERO : RESIZE, *tier(t)});
    }
    return v;
  });
}

void basic(const void *p, size_t n, const char *what) {
  if (p == nullptr) PFAIL("%s: NULL (errno %d)", what, errno);
  if ((uintptr_t)p % 16) PFAIL("%s = %p: not 16-byte aligned", what, p);
  if (hak_block_state(p) != HAK_BLOCK_LIVE) PFAIL("%s = %p: not LIVE", what, p);
  size_t us = hak_malloc_usable_size(p);
  if (us < n) PFAIL("%s = %p: usable %zu < request %zu", what, p, us, n);
}

void checker(const char *what) {
  char msg[512];
  if (hak_check_all(msg, sizeof msg) != 0) PFAIL("after %s: hak_check_all: %s", what, msg);
}

}  // namespace

PROP("realloc-tiers") {
  return rc::check("p7 realloc: chains across tiny/mid/large keep the prefix, usable >= request, aligned, checker clean",
                   [] {
    auto rounds = *rc::gen::resize(12, rc::gen::nonEmpty(rc::gen::container<std::vector<std::vector<Step>>>(round_trip())));
    std::vector<Step> steps;
    for (auto &r : rounds) steps.insert(steps.end(), r.begin(), r.end());
    steps.push_back(Step{RESIZE, *tier(0)});   // ... and back to tiny
    // shrinking removes steps too: any chain of at least one step
    const uint64_t id = 7;
    // Neighbours: two blocks per tier, written once, checked after each step.
    static const size_t nsz[] = {24, 1000, 5000, 60000, 100000, (size_t)3 << 20};
    const size_t nnb = sizeof nsz / sizeof nsz[0];
    props::Trace tr;   // block 0: the chain; 1..: the neighbours; last: malloc(0)
    for (size_t i = 0; i < nnb; i++) tr.add(props::Op::MALLOC, 0, (int)(1 + i), nsz[i]);
    tr.add(props::Op::MALLOC, 0, (int)(1 + nnb), 0);
    bool live = false;
    for (const Step &st : steps) {
      if (st.kind == ZERO && live) tr.add(props::Op::FREE, 0, 0);
      tr.add(live && st.kind == RESIZE ? props::Op::REALLOC : props::Op::MALLOC, 0, 0, st.size);
      live = true;
    }
    for (size_t i = 0; i <= nnb + 1; i++) tr.add(props::Op::FREE, 0, (int)i);
    props::isolated_recorded([&] {
      std::vector<std::pair<unsigned char *, size_t>> nb;
      for (size_t i = 0; i < nnb; i++) {
        auto *x = (unsigned char *)hak_malloc(nsz[i]);
        basic(x, nsz[i], "neighbour malloc");
        props::fill(x, nsz[i], 100 + i);
        nb.push_back({x, nsz[i]});
      }
      errno = 0;
      unsigned char *z = (unsigned char *)hak_realloc(nullptr, 0);   // malloc(0): a unique block
      basic(z, 0, "realloc(NULL, 0)");
      unsigned char *p = nullptr;
      size_t n = 0;
      for (size_t i = 0; i < steps.size(); i++) {
        const Step &st = steps[i];
        if (st.kind == ZERO && p != nullptr) {
          errno = 0;
          void *r = hak_realloc(p, 0);
          if (r != nullptr) PFAIL("step %zu: realloc(%p, 0) = %p, want NULL (glibc: frees)", i, (void *)p, r);
          if (hak_block_state(p) == HAK_BLOCK_LIVE) PFAIL("step %zu: realloc(%p, 0) did not free it", i, (void *)p);
          checker("realloc(p, 0)");
          p = nullptr;
          n = 0;
        }
        unsigned char *q = (unsigned char *)hak_realloc(p, st.size);
        std::string what = props::fmt("step %zu: realloc(%p, %zu -> %zu)", i, (void *)p, n, st.size);
        basic(q, st.size, what.c_str());
        size_t keep = std::min(n, st.size), bad;
        if (!props::intact(q, keep, id, &bad))
          PFAIL("%s = %p: prefix of %zu bytes differs at byte %zu", what.c_str(), (void *)q, keep, bad);
        for (size_t k = keep; k < st.size; k++) q[k] = props::pat(id, k);
        p = q;
        n = st.size;
        for (size_t j = 0; j < nb.size(); j++)
          if (!props::intact(nb[j].first, nb[j].second, 100 + j, &bad))
            PFAIL("%s: neighbour %p (%zu bytes) overwritten at byte %zu", what.c_str(), (void *)nb[j].first,
                  nb[j].second, bad);
        checker(what.c_str());
      }
      hak_free(p);
      hak_free(z);
      for (auto &x : nb) hak_free(x.first);
      checker("free");
    }, steps.size(), show(steps), tr);
  });
}
