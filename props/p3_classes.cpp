// Property 3: size classes.  The size -> class map is monotonic, every size
// fits its class, the class is the smallest that fits, the waste is at most
// 25% above 64 B, class sizes are multiples of 16 and strictly increasing,
// the tier boundaries are exact (1024 B tiny/mid, HAK_MID_MAX mid/large), and
// an allocation of each size really gets its class.
#include "props.h"

namespace {

// The whole table, against one size: RC_FAIL on any violation.
void check_size(size_t s) {
  int c = hak_size_class(s);
  if (s > HAK_MID_MAX) {
    if (c != -1) PFAIL("hak_size_class(%zu) = %d above HAK_MID_MAX, expected -1", s, c);
    return;
  }
  int n = hak_class_count();
  if (c < 0 || c >= n) PFAIL("hak_size_class(%zu) = %d out of range [0,%d)", s, c, n);
  size_t cs = hak_class_size(c);
  if (cs < s) PFAIL("size %zu does not fit its class %d (%zu B)", s, c, cs);
  if (c > 0 && hak_class_size(c - 1) >= s && s > 0)
    PFAIL("size %zu: class %d (%zu B) is not the smallest fit: class %d has %zu B", s, c, cs, c - 1,
          hak_class_size(c - 1));
  if (s > 64 && cs * 4 > s * 5) PFAIL("size %zu -> class %d of %zu B wastes more than 25%%", s, c, cs);
  int tier = hak_class_tier(c);
  int want = s <= HAK_TINY_MAX ? HAK_TIER_TINY : HAK_TIER_MID;
  if (tier != want) PFAIL("size %zu -> class %d tier %d, expected %d", s, c, tier, want);
}

}  // namespace

// Deterministic (no generated input): run once, outside rc::check.
static void classes_table() {
    int n = hak_class_count();
    RC_ASSERT(n > 0);
    size_t prev = 0;
    int prev_tier = HAK_TIER_TINY;
    size_t max_tiny = 0, max_mid = 0;
    for (int c = 0; c < n; c++) {
      size_t cs = hak_class_size(c);
      int t = hak_class_tier(c);
      if (cs % 16) PFAIL("class %d size %zu is not a multiple of 16", c, cs);
      if (cs <= prev) PFAIL("class %d size %zu not above class %d (%zu)", c, cs, c - 1, prev);
      if (t != HAK_TIER_TINY && t != HAK_TIER_MID) PFAIL("class %d tier %d", c, t);
      if (t < prev_tier) PFAIL("class %d tier %d after tier %d: tiers not contiguous", c, t, prev_tier);
      if (t == HAK_TIER_TINY && cs > HAK_TINY_MAX) PFAIL("tiny class %d of %zu B > HAK_TINY_MAX", c, cs);
      if (t == HAK_TIER_MID && cs <= HAK_TINY_MAX) PFAIL("mid class %d of %zu B <= HAK_TINY_MAX", c, cs);
      if (t == HAK_TIER_TINY) max_tiny = cs; else max_mid = cs;
      prev = cs;
      prev_tier = t;
    }
    if (max_tiny != HAK_TINY_MAX) PFAIL("largest tiny class is %zu B, not %u", max_tiny, HAK_TINY_MAX);
    if (max_mid != HAK_MID_MAX) PFAIL("largest mid class is %zu B, not %u", max_mid, HAK_MID_MAX);
    RC_ASSERT(hak_class_tier(hak_size_class(HAK_TINY_MAX)) == HAK_TIER_TINY);
    RC_ASSERT(hak_class_tier(hak_size_class(HAK_TINY_MAX + 1)) == HAK_TIER_MID);
    RC_ASSERT(hak_class_tier(hak_size_class(HAK_MID_MAX)) == HAK_TIER_MID);
    RC_ASSERT(hak_size_class(HAK_MID_MAX + 1) == -1);
    RC_ASSERT(hak_size_class(SIZE_MAX) == -1);
    RC_ASSERT(hak_size_class(0) >= 0);
    // Exhaustive: every size up to just past the mid maximum.
    for (size_t s = 0; s <= HAK_MID_MAX + 64; s++) check_size(s);
}

PROP("classes-table") {
  fprintf(stderr, "\n- p3 classes: class table shape, tier boundaries, every size 0..HAK_MID_MAX+64\n");
  try {
    classes_table();
  } catch (const rc::detail::CaseResult &r) {
    fprintf(stderr, "%s\n", r.description.c_str());
    return false;
  }
  return true;
}

PROP("classes-monotonic") {
  return rc::check("p3 classes: monotonic, fits, smallest fit, waste <= 25% above 64 B", [] {
    size_t a = *rc::gen::weightedOneOf<size_t>({{3, rc::gen::inRange<size_t>(0, HAK_MID_MAX + 2)},
                                                {1, rc::gen::inRange<size_t>(0, 2049)},
                                                {1, rc::gen::arbitrary<size_t>()}});
    size_t b = *rc::gen::inRange<size_t>(0, HAK_MID_MAX + 2);
    check_size(a);
    check_size(b);
    size_t lo = std::min(a, b), hi = std::max(a, b);
    if (hi <= HAK_MID_MAX && hak_size_class(lo) > hak_size_class(hi))
      PFAIL("not monotonic: class(%zu) = %d > class(%zu) = %d", lo, hak_size_class(lo), hi, hak_size_class(hi));
  });
}

PROP("classes-alloc") {
  return rc::check("p3 classes: an allocation of size s gets class(s), its usable size and tier", [] {
    auto sizes = *rc::gen::container<std::vector<size_t>>(rc::gen::inRange<size_t>(0, HAK_MID_MAX + 1));
    props::isolated([&] {
      hak_heap *h = hak_heap_new();
      for (size_t s : sizes) {
        void *p = hak_heap_malloc(h, s);
        if (!p) PFAIL("hak_heap_malloc(%zu) = NULL", s);
        int c = hak_size_class(s);
        hak_block_info bi;
        if (!hak_classify(p, &bi)) PFAIL("classify(%p) = 0 for a fresh %zu B block", p, s);
        if (bi.cls != c || bi.usable != hak_class_size(c) || bi.tier != hak_class_tier(c) ||
            hak_malloc_usable_size(p) != hak_class_size(c))
          PFAIL("malloc(%zu) = %p: class %d usable %zu (malloc_usable_size %zu) tier %d; expected class %d, %zu B, tier %d",
                s, p, bi.cls, bi.usable, hak_malloc_usable_size(p), bi.tier, c, hak_class_size(c), hak_class_tier(c));
        hak_heap_free(h, p);
      }
    });
  });
}
