// Property 2: metadata ("header") integrity.
//
// For every live pointer, classification from the address alone returns
// exactly the class, usable size, tier and owner recorded at allocation (and
// keeps returning them while other blocks come and go); interior addresses
// map to their block with interior = 1 and are not block starts; foreign
// addresses (stack, static data, a separate mmap, glibc's heap) are rejected;
// freed blocks are not LIVE.  Every block the visitor reports classifies back
// to itself with the visitor's class, size and owner (so every list link lands
// on a block boundary of the heap's own slabs), and the list walker agrees
// with the visitor on a sample.
#include <sys/mman.h>

#include "props.h"

using props::Op;

namespace {

struct AllocOp {
  int heap;
  int kind;  // 0 malloc, 1 calloc, 2 aligned_alloc
  size_t size;
  int align_log;
  bool free_later;
  friend std::ostream &operator<<(std::ostream &os, const AllocOp &o) {
    static const char *k[] = {"malloc", "calloc", "aligned_alloc"};
    os << "heap " << o.heap << " " << k[o.kind] << "(" << o.size;
    if (o.kind == 2) os << ", align " << (1u << o.align_log);
    return os << ")" << (o.free_later ? " freed" : "");
  }
};

rc::Gen<AllocOp> gen_op() {
  return rc::gen::build<AllocOp>(
      rc::gen::set(&AllocOp::heap, rc::gen::inRange(0, 3)),
      rc::gen::set(&AllocOp::kind, rc::gen::weightedElement<int>({{6, 0}, {2, 1}, {2, 2}})),
      rc::gen::set(&AllocOp::size, props::gen_size()),
      rc::gen::set(&AllocOp::align_log, rc::gen::inRange(0, 17)),
      rc::gen::set(&AllocOp::free_later, rc::gen::arbitrary<bool>()));
}

struct Rec {
  void *p;
  hak_block_info info;
  size_t size;
};

static int a_static_object[64];

void expect_same(const Rec &r, const char *when) {
  hak_block_info bi;
  memset(&bi, 0, sizeof bi);
  if (!hak_classify(r.p, &bi)) PFAIL("%s: live %p (%zu B) no longer classified", when, r.p, r.size);
  if (bi.block != r.info.block || bi.usable != r.info.usable || bi.tier != r.info.tier || bi.cls != r.info.cls ||
      bi.owner != r.info.owner || bi.interior != 0)
    PFAIL("%s: classify(%p) = {block %p usable %zu tier %d cls %d owner %p interior %d}, recorded {block %p usable "
          "%zu tier %d cls %d owner %p}", when, r.p, bi.block, bi.usable, bi.tier, bi.cls, (void *)bi.owner,
          bi.interior, r.info.block, r.info.usable, r.info.tier, r.info.cls, (void *)r.info.owner);
  int st = hak_block_state(r.p);
  if (st != HAK_BLOCK_LIVE) PFAIL("%s: live %p has state %s", when, r.p, props::state_name(st));
  size_t offs[] = {1, 15, r.info.usable / 2, r.info.usable - 1};
  for (size_t o : offs) {
    if (o == 0 || o >= r.info.usable) continue;
    const char *q = (const char *)r.p + o;
    if (!hak_classify(q, &bi)) PFAIL("%s: interior %p (+%zu of %p) not classified", when, (void *)q, o, r.p);
    if (bi.block != r.p || !bi.interior || bi.cls != r.info.cls || bi.owner != r.info.owner)
      PFAIL("%s: interior %p (+%zu of %p): block %p interior %d cls %d owner %p", when, (void *)q, o, r.p, bi.block,
            bi.interior, bi.cls, (void *)bi.owner);
    if (hak_block_state(q) != -1) PFAIL("%s: interior %p (+%zu) accepted as a block start", when, (void *)q, o);
  }
}

void expect_foreign(const void *p, const char *what) {
  hak_block_info bi;
  if (hak_classify(p, &bi)) PFAIL("%s %p classified as a hakmem block (block %p)", what, p, bi.block);
  if (hak_block_state(p) != -1) PFAIL("%s %p: hak_block_state != -1", what, p);
}

struct VisitCheck {
  hak_heap *h;
  std::string err;
  unsigned n = 0;
  std::vector<std::pair<void *, int>> sample;
};

void visit_cb(void *arg, void *block, size_t usable, int cls, int state) {
  VisitCheck *v = static_cast<VisitCheck *>(arg);
  if (!v->err.empty()) return;
  hak_block_info bi;
  memset(&bi, 0, sizeof bi);
  if (!hak_classify(block, &bi)) {
    v->err = props::fmt("visited block %p (%s) is not classified", block, props::state_name(state));
    return;
  }
  if (bi.block != block || bi.interior || (size_t)bi.usable != usable || bi.cls != cls || bi.owner != v->h ||
      bi.tier != hak_class_tier(cls))
    v->err = props::fmt("visited block %p (cls %d, %zu B, %s) classifies as block %p interior %d cls %d usable %zu "
                        "owner %p tier %d (heap %p)", block, cls, usable, props::state_name(state), bi.block,
                        bi.interior, bi.cls, bi.usable, (void *)bi.owner, bi.tier, (void *)v->h);
  if ((v->n++ % 61) == 0 && state != HAK_BLOCK_UNCARVED) v->sample.push_back({block, state});
}

void check_visits(const std::vector<hak_heap *> &hs, const char *when) {
  for (hak_heap *h : hs) {
    VisitCheck v;
    v.h = h;
    hak_heap_visit(h, visit_cb, &v);
    if (!v.err.empty()) PFAIL("%s: %s", when, v.err.c_str());
    for (auto &s : v.sample) {
      int st = hak_block_state(s.first);
      if (st != s.second)
        PFAIL("%s: block %p: visitor says %s, hak_block_state says %s", when, s.first, props::state_name(s.second),
              props::state_name(st));
    }
  }
  props::check_heaps(hs);
}

}  // namespace

PROP("metadata") {
  return rc::check("p2 metadata: classify == recorded; interior/foreign/freed rejected; visitor links valid", [] {
    auto ops = *rc::gen::container<std::vector<AllocOp>>(gen_op());
    props::Trace tr;
    std::ostringstream ls;
    for (size_t i = 0; i < ops.size(); i++) {
      const AllocOp &o = ops[i];
      Op::Kind k = o.kind == 0 ? Op::MALLOC : o.kind == 1 ? Op::CALLOC : Op::ALIGNED;
      tr.add(k, o.heap, (int)i, o.size, (size_t)1 << o.align_log);
      ls << o << "\n";
    }
    for (size_t i = 0; i < ops.size(); i++)
      if (ops[i].free_later) tr.add(Op::FREE, ops[i].heap, (int)i);  // as the allocating heap
    for (int h = 0; h < 3; h++) tr.add(Op::COLLECT, h);
    props::isolated_recorded([&] {
      std::vector<hak_heap *> hs;
      for (int i = 0; i < 3; i++) hs.push_back(hak_heap_new());
      std::vector<Rec> recs;
      for (const AllocOp &o : ops) {
        size_t align = (size_t)1 << o.align_log;
        void *p = o.kind == 0 ? hak_heap_malloc(hs[o.heap], o.size)
                : o.kind == 1 ? hak_heap_calloc(hs[o.heap], 1, o.size)
                              : hak_heap_aligned_alloc(hs[o.heap], align, o.size);
        if (!p) PFAIL("allocation %zu B returned NULL", o.size);
        Rec r{p, {}, o.size};
        if (!hak_classify(p, &r.info)) PFAIL("fresh block %p (%zu B) not classified", p, o.size);
        const hak_block_info &bi = r.info;
        size_t us = hak_malloc_usable_size(p);
        if (bi.block != p || bi.interior || bi.usable != us || us < o.size)
          PFAIL("fresh %p (%zu B): classify block %p interior %d usable %zu, malloc_usable_size %zu", p, o.size,
                bi.block, bi.interior, bi.usable, us);
        if (o.kind == 2 && (uintptr_t)p % align) PFAIL("aligned_alloc(%zu, %zu) = %p misaligned", align, o.size, p);
        if (bi.tier == HAK_TIER_LARGE) {
          if (bi.cls != -1 || bi.owner != nullptr) PFAIL("large %p: cls %d owner %p", p, bi.cls, (void *)bi.owner);
          if (o.kind != 2 && o.size <= HAK_MID_MAX) PFAIL("%zu B served as a large block", o.size);
        } else {
          if (bi.owner != hs[o.heap]) PFAIL("%p: owner %p, allocated as heap %p", p, (void *)bi.owner, (void *)hs[o.heap]);
          if (bi.cls < 0 || bi.usable != hak_class_size(bi.cls) || bi.tier != hak_class_tier(bi.cls))
            PFAIL("%p: cls %d usable %zu tier %d inconsistent with the class table", p, bi.cls, bi.usable, bi.tier);
          if (o.kind != 2 && bi.cls != hak_size_class(o.size))
            PFAIL("%zu B got class %d, hak_size_class says %d", o.size, bi.cls, hak_size_class(o.size));
        }
        memset(p, 0x5a, o.size);
        recs.push_back(r);
      }
      for (const Rec &r : recs) expect_same(r, "after the allocations");
      check_visits(hs, "after the allocations");

      // Foreign addresses.
      int on_stack = 0;
      expect_foreign(&on_stack, "stack address");
      expect_foreign(&a_static_object[3], "static address");
      void *gm = malloc(100);
      expect_foreign(gm, "glibc malloc block");
      free(gm);
      size_t mlen = 4u << 20;
      void *m = mmap(nullptr, mlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m != MAP_FAILED) {
        expect_foreign(m, "separate mmap");
        expect_foreign((char *)m + (2u << 20), "separate mmap (middle)");
        munmap(m, mlen);
      }
      expect_foreign(nullptr, "NULL");
      expect_foreign((void *)16, "low address");

      // Free some, check the freed and the survivors.
      std::vector<Rec> live;
      std::vector<Rec> freed;
      for (size_t i = 0; i < recs.size(); i++) {
        const Rec &r = recs[i];
        hak_heap *by = hs[ops[i].heap];  // the allocating heap: local, or any heap for large blocks
        if (ops[i].free_later) {
          hak_heap_free(by, r.p);
          freed.push_back(r);
        } else {
          live.push_back(r);
        }
      }
      for (const Rec &r : live) expect_same(r, "after the frees");
      for (const Rec &r : freed) {
        bool still_live = false;
        for (const Rec &l : live) still_live |= l.p == r.p;
        if (still_live) continue;
        int st = hak_block_state(r.p);
        if (st == HAK_BLOCK_LIVE) PFAIL("freed %p (%zu B) is still LIVE", r.p, r.size);
        if (r.info.tier == HAK_TIER_LARGE && st != -1 && st != HAK_BLOCK_BIGCACHE)
          PFAIL("freed large %p has state %s", r.p, props::state_name(st));
        if (r.info.tier != HAK_TIER_LARGE && st != -1 && st != HAK_BLOCK_FREE && st != HAK_BLOCK_CACHED &&
            st != HAK_BLOCK_REMOTE)
          PFAIL("freed %p has state %s", r.p, props::state_name(st));
      }
      check_visits(hs, "after the frees");
      for (hak_heap *h : hs) hak_heap_collect(h);
      for (const Rec &r : live) expect_same(r, "after collect");
      check_visits(hs, "after collect");
    }, ops.size(), ls.str(), tr);
  });
}
