// props/heapmodel.cpp: commands and checks of the multi-heap state machine
// (see heapmodel.h).  Shared by p1_disjoint.cpp and p6_exit.cpp.
#include "heapmodel.h"

using props::Op;

namespace hm {

Sut::Sut() : queued(NHEAPS) {
  hak_stats st;
  hak_stats_get(&st);
  drained_stat = st.remote_frees_drained;
  refill_stat = st.tiny_refills + st.mid_refills;
  for (int i = 0; i < NHEAPS; i++) {
    hak_heap *h = hak_heap_new();
    if (!h) RC_FAIL("hak_heap_new returned NULL");
    heaps.push_back(h);
  }
}

static int heap_index(const Sut &s, const hak_heap *h) {
  for (size_t i = 0; i < s.heaps.size(); i++)
    if (s.heaps[i] == h) return (int)i;
  return -3;
}

static const size_t kHead = 64, kTail = 16;  // bytes of the pattern checked

static void check_content(const Sut &s, int id, const Live &L, const char *when) {
  size_t bad = 0, n = L.size;
  if (n <= kHead + kTail) {
    if (!props::intact(L.p, n, (uint64_t)id, &bad))
      PFAIL("%s: live block id %d (%p, size %zu) corrupted at byte %zu", when, id, L.p, L.size, bad);
    return;
  }
  const unsigned char *b = (const unsigned char *)L.p;
  for (size_t i = 0; i < kHead; i++)
    if (b[i] != props::pat((uint64_t)id, i))
      PFAIL("%s: live block id %d (%p, size %zu) corrupted at byte %zu", when, id, L.p, L.size, i);
  for (size_t i = n - kTail; i < n; i++)
    if (b[i] != props::pat((uint64_t)id, i))
      PFAIL("%s: live block id %d (%p, size %zu) corrupted at byte %zu", when, id, L.p, L.size, i);
  (void)s;
}

static void fill_block(const Live &L, int id) {
  if (L.size <= kHead + kTail) {
    props::fill(L.p, L.size, (uint64_t)id);
    return;
  }
  unsigned char *b = (unsigned char *)L.p;
  for (size_t i = 0; i < kHead; i++) b[i] = props::pat((uint64_t)id, i);
  for (size_t i = L.size - kTail; i < L.size; i++) b[i] = props::pat((uint64_t)id, i);
}

// Register a block the core just returned for id, after checking it.
static void take(Sut &s, int id, void *p, size_t size, int via, const char *what) {
  if (!p) PFAIL("%s(heap %d, %zu) returned NULL", what, via, size);
  if ((uintptr_t)p % 16) PFAIL("%s(heap %d, %zu) returned %p: not 16-byte aligned", what, via, size, p);
  auto dup = s.byaddr.find((uintptr_t)p);
  if (dup != s.byaddr.end())
    PFAIL("%s(heap %d, %zu) returned %p, which is still live as id %d: handed out twice", what, via, size, p,
          dup->second);
  size_t us = hak_malloc_usable_size(p);
  if (us < size) PFAIL("%s(heap %d, %zu) = %p: usable size %zu < request", what, via, size, p, us);
  hak_block_info bi;
  memset(&bi, 0, sizeof bi);
  if (!hak_classify(p, &bi)) PFAIL("%s = %p: hak_classify does not know the block", what, p);
  if (bi.block != p || bi.interior) PFAIL("%s = %p: hak_classify says block %p interior %d", what, p, bi.block, bi.interior);
  int owner;
  if (bi.tier == HAK_TIER_LARGE) {
    if (bi.owner) PFAIL("%s = %p: large block with an owner heap", what, p);
    owner = OWNER_LARGE;
  } else {
    owner = heap_index(s, bi.owner);
    if (owner < 0) PFAIL("%s = %p: owner heap %p is none of the test heaps", what, p, (void *)bi.owner);
  }
  Live L{p, size, us, owner, bi.cls};
  s.live[id] = L;
  s.byaddr[(uintptr_t)p] = id;
  fill_block(L, id);
}

static Live drop(Sut &s, int id, const char *when) {
  auto it = s.live.find(id);
  if (it == s.live.end()) PFAIL("sut: id %d not live", id);
  Live L = it->second;
  check_content(s, id, L, when);
  s.live.erase(it);
  s.byaddr.erase((uintptr_t)L.p);
  return L;
}

void verify(const Model &m, Sut &s, int h, unsigned flags, const std::vector<uintptr_t> &touched) {
  if (m.live.size() != s.live.size()) PFAIL("model has %zu live ids, sut %zu", m.live.size(), s.live.size());
  for (auto &kv : m.live) {
    auto it = s.live.find(kv.first);
    if (it == s.live.end()) PFAIL("model id %d missing from the sut", kv.first);
    if (kv.second.owner != OWNER_UNKNOWN && kv.second.owner != it->second.owner)
      PFAIL("id %d (%p, size %zu): owner %d, expected %d", kv.first, it->second.p, it->second.size,
            it->second.owner, kv.second.owner);
  }
  props::check_heaps(s.heaps);
  std::vector<props::Seen> seen = props::snapshot(s.heaps);
  props::check_slab_counts(seen);

  size_t live_seen = 0;
  std::set<int> ids_seen;
  for (const props::Seen &b : seen) {
    if (b.state == HAK_BLOCK_LIVE) {
      auto it = s.byaddr.find(b.block);
      if (it == s.byaddr.end())
        PFAIL("heap %d reports block %#lx LIVE, but the program freed it / never got it", b.heap,
              (unsigned long)b.block);
      const Live &L = s.live[it->second];
      if (L.owner != b.heap)
        PFAIL("block %#lx (id %d) is LIVE in heap %d, but was allocated from heap %d", (unsigned long)b.block,
              it->second, b.heap, L.owner);
      if (L.cls != b.cls)
        PFAIL("block %#lx (id %d): class %d in the visit, %d at allocation", (unsigned long)b.block, it->second,
              b.cls, L.cls);
      live_seen++;
      ids_seen.insert(it->second);
    } else if (s.byaddr.count(b.block)) {
      PFAIL("block %#lx (live id %d, held by the program) is %s in heap %d", (unsigned long)b.block,
            s.byaddr[b.block], props::state_name(b.state), b.heap);
    }
    if (b.heap == h && (flags & V_NO_REMOTE) && b.state == HAK_BLOCK_REMOTE)
      PFAIL("heap %d still has block %#lx on its remote queue after the drain", h, (unsigned long)b.block);
    if (b.heap == h && (flags & V_NO_CACHED) && b.state == HAK_BLOCK_CACHED)
      PFAIL("heap %d still has block %#lx in its thread cache after the flush", h, (unsigned long)b.block);
  }
  for (auto &kv : s.live) {
    const Live &L = kv.second;
    if (L.owner >= 0) {
      if (!ids_seen.count(kv.first))
        PFAIL("live id %d (%p, size %zu, heap %d) is not reported LIVE by any heap visit", kv.first, L.p, L.size,
              L.owner);
    } else {
      int st = hak_block_state(L.p);
      if (st != HAK_BLOCK_LIVE)
        PFAIL("live large id %d (%p): hak_block_state %d (%s)", kv.first, L.p, st, props::state_name(st));
    }
    check_content(s, kv.first, L, "verify");
  }
  (void)live_seen;

  // Remote queues (see Sut::queued).
  std::vector<std::set<uintptr_t>> remote(NHEAPS);
  for (const props::Seen &b : seen)
    if (b.state == HAK_BLOCK_REMOTE) remote[b.heap].insert(b.block);
  uint64_t left = 0;
  bool exact = true;
  for (int o = 0; o < NHEAPS; o++) {
    for (uintptr_t p : remote[o])
      if (!s.queued[o].count(p))
        PFAIL("block %#lx is on heap %d's remote queue, but no remote free put it there since it was last "
              "drained (duplicated or resurrected)", (unsigned long)p, o);
    bool may_leave = o == h || m.abandoned[o];
    if (m.abandoned[o]) exact = false;
    for (uintptr_t p : s.queued[o]) {
      if (remote[o].count(p)) continue;
      if (!may_leave)
        PFAIL("block %#lx pushed to heap %d's remote queue left it (now %s) although heap %d did nothing: lost",
              (unsigned long)p, o, props::state_name(hak_block_state((void *)p)), o);
      left++;
    }
    s.queued[o] = remote[o];
  }
  hak_stats st;
  hak_stats_get(&st);
  uint64_t delta = st.remote_frees_drained - s.drained_stat;
  s.drained_stat = st.remote_frees_drained;
  if (exact && delta != left)
    PFAIL("%lu blocks left remote queues but hak_stats.remote_frees_drained grew by %lu", (unsigned long)left,
          (unsigned long)delta);
  // Drain before pop: a command that refilled heap h's cache from its slabs
  // leaves h's remote queue empty (see Sut::refill_stat).
  uint64_t refills = st.tiny_refills + st.mid_refills;
  if (h >= 0 && refills != s.refill_stat && !remote[h].empty())
    PFAIL("heap %d refilled its cache from its slab free lists (%lu refills) with %zu block(s) still on its "
          "remote queue, e.g. %#lx: the owner must drain the queue before it pops its free lists",
          h, (unsigned long)(refills - s.refill_stat), remote[h].size(), (unsigned long)*remote[h].begin());
  s.refill_stat = refills;
  // The blocks this command touched: the list walker agrees with the visitor.
  for (uintptr_t p : touched) {
    int st = hak_block_state((const void *)p);
    auto it = std::lower_bound(seen.begin(), seen.end(), p,
                               [](const props::Seen &a, uintptr_t v) { return a.block < v; });
    if (it != seen.end() && it->block == p) {
      if (st != it->state)
        PFAIL("block %#lx: hak_block_state says %s, hak_heap_visit says %s", (unsigned long)p,
              props::state_name(st), props::state_name(it->state));
    } else if (s.byaddr.count(p) == 0 && st == HAK_BLOCK_LIVE) {
      PFAIL("freed block %#lx is still LIVE per hak_block_state", (unsigned long)p);
    }
  }
}

// ---- commands ------------------------------------------------------------
namespace {

int pick_alive(const Model &m) {
  std::vector<int> a;
  for (int h = 0; h < NHEAPS; h++)
    if (m.alive(h)) a.push_back(h);
  RC_PRE(!a.empty());
  return *rc::gen::elementOf(a);
}

size_t gen_size(const Model &m, bool allow_large = true) {
  if (m.profile == REMOTE)
    return *rc::gen::element<size_t>(16, 24, 48, 100, 1000, 1500, 9000);
  return *props::gen_size(allow_large);
}

int owner_for(size_t size, int h) { return size > HAK_MID_MAX ? OWNER_LARGE : h; }

struct Alloc : HCmd {
  int h, id;
  size_t size;
  explicit Alloc(const Model &m) : h(pick_alive(m)), id(m.next_id), size(gen_size(m)) {}
  void checkPreconditions(const Model &m) const override {
    RC_PRE(m.alive(h));
    RC_PRE(!m.live.count(id));
  }
  void apply(Model &m) const override {
    m.live[id] = MBlock{owner_for(size, h), size};
    m.next_id = std::max(m.next_id, id + 1);
  }
  void run(const Model &m0, Sut &s) const override {
    take(s, id, hak_heap_malloc(s.heaps[h], size), size, h, "hak_heap_malloc");
    verify(nextState(m0), s, h, 0, {(uintptr_t)s.live[id].p});
  }
  void ops(const Model &, props::Trace &t) const override { t.add(Op::MALLOC, h, id, size); }
  void show(std::ostream &os) const override { os << "Alloc(heap " << h << ", " << size << " B) -> #" << id; }
};

struct AllocBatch : HCmd {
  int h, id, n;
  size_t size;
  explicit AllocBatch(const Model &m)
      : h(pick_alive(m)), id(m.next_id), n(*rc::gen::inRange(2, 41)), size(gen_size(m, false)) {}
  void checkPreconditions(const Model &m) const override {
    RC_PRE(m.alive(h));
    for (int i = 0; i < n; i++) RC_PRE(!m.live.count(id + i));
  }
  void apply(Model &m) const override {
    for (int i = 0; i < n; i++) m.live[id + i] = MBlock{owner_for(size, h), size};
    m.next_id = std::max(m.next_id, id + n);
  }
  void run(const Model &m0, Sut &s) const override {
    for (int i = 0; i < n; i++) take(s, id + i, hak_heap_malloc(s.heaps[h], size), size, h, "hak_heap_malloc");
    verify(nextState(m0), s, h);
  }
  void ops(const Model &, props::Trace &t) const override {
    for (int i = 0; i < n; i++) t.add(Op::MALLOC, h, id + i, size);
  }
  void show(std::ostream &os) const override {
    os << "AllocBatch(heap " << h << ", " << n << " x " << size << " B) -> #" << id << "..#" << id + n - 1;
  }
};

int pick_live(const Model &m) {
  RC_PRE(!m.live.empty());
  std::vector<int> ids;
  for (auto &kv : m.live) ids.push_back(kv.first);
  return *rc::gen::elementOf(ids);
}

// Free by the owning heap (local path).
struct FreeLocal : HCmd {
  int id;
  explicit FreeLocal(const Model &m) : id(pick_live(m)) {
    RC_PRE(m.live.at(id).owner >= 0 && m.alive(m.live.at(id).owner));
  }
  void checkPreconditions(const Model &m) const override {
    RC_PRE(m.live.count(id));
    RC_PRE(m.live.at(id).owner >= 0 && m.alive(m.live.at(id).owner));
  }
  void apply(Model &m) const override { m.live.erase(id); }
  void run(const Model &m0, Sut &s) const override {
    int h = m0.live.at(id).owner;
    Live L = drop(s, id, "free-local");
    hak_heap_free(s.heaps[h], L.p);
    verify(nextState(m0), s, h, 0, {(uintptr_t)L.p});
  }
  void ops(const Model &m0, props::Trace &t) const override { t.add(Op::FREE, m0.live.at(id).owner, id); }
  void show(std::ostream &os) const override { os << "FreeLocal(#" << id << ")"; }
};

// Free by another heap (remote path; large blocks: any heap).
struct FreeRemote : HCmd {
  int id, h;
  explicit FreeRemote(const Model &m) : id(pick_live(m)), h(pick_alive(m)) {
    RC_PRE(m.live.at(id).owner != h);
  }
  void checkPreconditions(const Model &m) const override {
    RC_PRE(m.live.count(id));
    RC_PRE(m.alive(h) && m.live.at(id).owner != h);
  }
  void apply(Model &m) const override { m.live.erase(id); }
  void run(const Model &m0, Sut &s) const override {
    Live L = drop(s, id, "free-remote");
    hak_heap_free(s.heaps[h], L.p);
    if (L.owner >= 0 && L.owner != h) s.queued[L.owner].insert((uintptr_t)L.p);
    verify(nextState(m0), s, h, 0, {(uintptr_t)L.p});
  }
  void ops(const Model &, props::Trace &t) const override { t.add(Op::FREE, h, id); }
  void show(std::ostream &os) const override { os << "FreeRemote(#" << id << " from heap " << h << ")"; }
};

// Every live block owned by heap o, freed from heap h (remote when h != o).
struct FreeAll : HCmd {
  int o, h;
  explicit FreeAll(const Model &m) : o(*rc::gen::inRange(0, NHEAPS)), h(pick_alive(m)) {}
  std::vector<int> victims(const Model &m) const {
    std::vector<int> v;
    for (auto &kv : m.live)
      if (kv.second.owner == o) v.push_back(kv.first);
    return v;
  }
  void checkPreconditions(const Model &m) const override {
    RC_PRE(m.alive(h));
    RC_PRE(!victims(m).empty());
  }
  void apply(Model &m) const override {
    for (int id : victims(m)) m.live.erase(id);
  }
  void run(const Model &m0, Sut &s) const override {
    std::vector<uintptr_t> touched;
    for (int id : victims(m0)) {
      Live L = drop(s, id, "free-all");
      hak_heap_free(s.heaps[h], L.p);
      if (L.owner >= 0 && L.owner != h) s.queued[L.owner].insert((uintptr_t)L.p);
      touched.push_back((uintptr_t)L.p);
    }
    verify(nextState(m0), s, h, 0, touched);
  }
  void ops(const Model &m0, props::Trace &t) const override {
    for (int id : victims(m0)) t.add(Op::FREE, h, id);
  }
  void show(std::ostream &os) const override {
    os << "FreeAll(owned by heap " << o << ", from heap " << h << (o == h ? ", local)" : ", remote)");
  }
};

struct Realloc : HCmd {
  int id, h;
  size_t size;
  explicit Realloc(const Model &m) : id(pick_live(m)), h(-1), size(gen_size(m)) {
    int o = m.live.at(id).owner;
    h = o >= 0 ? o : pick_alive(m);
    RC_PRE(m.alive(h) && size > 0);
  }
  void checkPreconditions(const Model &m) const override {
    RC_PRE(m.live.count(id) && m.alive(h) && size > 0);
    int o = m.live.at(id).owner;
    RC_PRE(o == h || o == OWNER_LARGE || o == OWNER_UNKNOWN);  // small blocks: realloc by the owner
  }
  void apply(Model &m) const override {
    MBlock &b = m.live.at(id);
    int o = b.owner;
    if (size > HAK_MID_MAX) b.owner = OWNER_LARGE;
    else if (o == OWNER_LARGE || o == OWNER_UNKNOWN) b.owner = OWNER_UNKNOWN;
    else b.owner = h;
    b.size = size;
  }
  void run(const Model &m0, Sut &s) const override {
    Live L = drop(s, id, "realloc");
    void *q = hak_heap_realloc(s.heaps[h], L.p, size);
    if (!q) PFAIL("hak_heap_realloc(heap %d, %p, %zu) returned NULL", h, L.p, size);
    size_t keep = std::min(L.size, size), bad = 0;
    // The pattern survives in the copied prefix: compare the prefix we wrote.
    const unsigned char *b = (const unsigned char *)q;
    for (size_t i = 0; i < keep; i++) {
      bool written = L.size <= kHead + kTail || i < kHead || i >= L.size - kTail;
      if (written && b[i] != props::pat((uint64_t)id, i)) {
        bad = i + 1;
        break;
      }
    }
    if (bad) PFAIL("realloc(#%d %p size %zu -> %zu) = %p lost content at byte %zu", id, L.p, L.size, size, q, bad - 1);
    if (q != L.p && L.owner >= 0 && L.owner != h) s.queued[L.owner].insert((uintptr_t)L.p);
    take(s, id, q, size, h, "hak_heap_realloc");
    std::vector<uintptr_t> touched{(uintptr_t)q};
    if (q != L.p) touched.push_back((uintptr_t)L.p);
    verify(nextState(m0), s, h, 0, touched);
  }
  void ops(const Model &, props::Trace &t) const override { t.add(Op::REALLOC, h, id, size); }
  void show(std::ostream &os) const override { os << "Realloc(#" << id << " to " << size << " B, as heap " << h << ")"; }
};

struct Drain : HCmd {
  int h;
  explicit Drain(const Model &m) : h(pick_alive(m)) {}
  void checkPreconditions(const Model &m) const override { RC_PRE(m.alive(h)); }
  void run(const Model &m0, Sut &s) const override {
    hak_heap_drain(s.heaps[h]);
    verify(m0, s, h, V_NO_REMOTE);
  }
  void ops(const Model &, props::Trace &t) const override { t.add(Op::DRAIN, h); }
  void show(std::ostream &os) const override { os << "Drain(heap " << h << ")"; }
};

struct Collect : HCmd {
  int h;
  explicit Collect(const Model &m) : h(pick_alive(m)) {}
  void checkPreconditions(const Model &m) const override { RC_PRE(m.alive(h)); }
  void run(const Model &m0, Sut &s) const override {
    hak_heap_collect(s.heaps[h]);
    verify(m0, s, h, V_NO_REMOTE | V_NO_CACHED);
  }
  void ops(const Model &, props::Trace &t) const override { t.add(Op::COLLECT, h); }
  void show(std::ostream &os) const override { os << "Collect(heap " << h << ")"; }
};

struct Trim : HCmd {
  explicit Trim(const Model &) {}
  void run(const Model &m0, Sut &s) const override {
    hak_trim();
    verify(m0, s);
  }
  void ops(const Model &, props::Trace &t) const override { t.add(Op::TRIM, -1); }
  void show(std::ostream &os) const override { os << "Trim()"; }
};

struct Abandon : HCmd {
  int h;
  explicit Abandon(const Model &m) : h(pick_alive(m)) {}
  void checkPreconditions(const Model &m) const override { RC_PRE(m.alive(h)); }
  void apply(Model &m) const override {
    m.abandoned[h] = true;
    m.aqueue.push_back(h);
  }
  void run(const Model &m0, Sut &s) const override {
    hak_heap_abandon(s.heaps[h]);
    verify(nextState(m0), s, h, V_NO_REMOTE | V_NO_CACHED);
  }
  void ops(const Model &, props::Trace &t) const override { t.add(Op::ABANDON, h); }
  void show(std::ostream &os) const override { os << "Abandon(heap " << h << ")"; }
};

// Destroy heap h with its live blocks; a fresh heap takes its place.
struct Destroy : HCmd {
  int h;
  explicit Destroy(const Model &m) : h(*rc::gen::inRange(0, NHEAPS)) {
    for (auto &kv : m.live) RC_PRE(kv.second.owner != OWNER_UNKNOWN);
  }
  void checkPreconditions(const Model &m) const override {
    for (auto &kv : m.live) RC_PRE(kv.second.owner != OWNER_UNKNOWN);
  }
  void apply(Model &m) const override {
    for (auto it = m.live.begin(); it != m.live.end();) it = it->second.owner == h ? m.live.erase(it) : std::next(it);
    if (m.abandoned[h]) {
      m.abandoned[h] = false;
      m.aqueue.erase(std::find(m.aqueue.begin(), m.aqueue.end(), h));
    }
  }
  void run(const Model &m0, Sut &s) const override {
    std::vector<int> gone;
    for (auto &kv : s.live)
      if (kv.second.owner == h) gone.push_back(kv.first);
    for (int id : gone) {
      s.byaddr.erase((uintptr_t)s.live[id].p);
      s.live.erase(id);
    }
    hak_heap_destroy(s.heaps[h]);
    s.queued[h].clear();
    hak_heap *n = hak_heap_new();
    if (!n) PFAIL("hak_heap_new after destroy returned NULL");
    for (int i = 0; i < NHEAPS; i++)
      if (i != h && s.heaps[i] == n) PFAIL("hak_heap_new returned heap %d's object, which is in use", i);
    s.heaps[h] = n;
    verify(nextState(m0), s, h);
  }
  void ops(const Model &m0, props::Trace &t) const override {
    t.add(Op::DESTROY, h);
    for (auto &kv : m0.live)
      if (kv.second.owner == h) t.add(Op::FORGET, h, kv.first);
  }
  void show(std::ostream &os) const override { os << "Destroy(heap " << h << ") + new heap"; }
};

struct Adopt : HCmd {
  explicit Adopt(const Model &m) { RC_PRE(!m.aqueue.empty()); }
  void checkPreconditions(const Model &m) const override { RC_PRE(!m.aqueue.empty()); }
  void apply(Model &m) const override {
    m.abandoned[m.aqueue.front()] = false;
    m.aqueue.erase(m.aqueue.begin());
  }
  void run(const Model &m0, Sut &s) const override {
    int want = m0.aqueue.front();
    hak_heap *a = hak_heap_adopt();
    hak_heap_bind(nullptr);  // the test drives heaps explicitly; keep the thread unbound
    if (a != s.heaps[want])
      PFAIL("hak_heap_adopt returned heap %d (%p), expected the oldest abandoned heap %d", heap_index(s, a),
            (void *)a, want);
    verify(nextState(m0), s, want);
  }
  void ops(const Model &m0, props::Trace &t) const override { t.add(Op::ADOPT, m0.aqueue.front()); }
  void show(std::ostream &os) const override { os << "Adopt()"; }
};

}  // namespace

rc::Gen<CmdSP> mix_general(const Model &m) {
  return rc::state::gen::execOneOfWithArgs<Alloc, Alloc, Alloc, AllocBatch, FreeLocal, FreeLocal, FreeRemote,
                                           FreeRemote, FreeAll, Drain, Realloc, Collect, Abandon, Adopt,
                                           Trim, Destroy>()(m);
}

rc::Gen<CmdSP> mix_remote(const Model &m) {
  return rc::state::gen::execOneOfWithArgs<Alloc, Alloc, AllocBatch, FreeRemote, FreeRemote, FreeRemote,
                                           FreeRemote, FreeAll, FreeLocal, Drain, Drain, Realloc>()(m);
}

rc::Gen<CmdSP> mix_exit(const Model &m) {
  return rc::state::gen::execOneOfWithArgs<Alloc, AllocBatch, AllocBatch, FreeLocal, FreeRemote, FreeRemote,
                                           FreeAll, FreeAll, Drain, Collect, Abandon, Abandon, Adopt, Adopt,
                                           Realloc>()(m);
}

// The listing and the fuzz/ops trace of a command sequence.
static void describe(const Model &m0, const rc::state::Commands<rc::state::Command<Model, Sut>> &cmds,
                     std::string &listing, props::Trace &trace) {
  Model m = m0;
  std::ostringstream os;
  for (auto &c : cmds) {
    c->show(os);
    os << "\n";
    if (auto hc = dynamic_cast<const HCmd *>(c.get())) hc->ops(m, trace);
    c->apply(m);
  }
  listing = os.str();
}

bool check_model(const std::string &title, rc::Gen<CmdSP> (*mix)(const Model &), int profile) {
  // PROPS_EMIT_ALL=DIR: also write every passing case as DIR/<title>-N.ops,
  // to check that the fuzz/ops encoding replays clean on the real core
  // (make props-ops-roundtrip).
  static const char *emit_all = getenv("PROPS_EMIT_ALL");
  static int emitted = 0;
  return rc::check(title, [mix, profile, title] {
    Model m0;
    m0.profile = profile;
    auto cmds = *rc::state::gen::commands(m0, mix);
    RC_TAG(cmds.size() < 10 ? "commands: <10" : cmds.size() < 40 ? "commands: 10-39" : "commands: >=40");
    try {
      props::isolated([&] {
        Sut s;
        rc::state::runAll(cmds, m0, s);
      });
    } catch (const rc::detail::CaseResult &r) {
      if (r.type == rc::detail::CaseResult::Type::Failure) {
        props::Failure &f = props::last_failure();
        f = props::Failure();
        f.set = true;
        f.ncmds = cmds.size();
        f.why = r.description;
        describe(m0, cmds, f.listing, f.trace);
      }
      throw;
    }
    if (emit_all && *emit_all) {
      std::string listing;
      props::Trace trace;
      describe(m0, cmds, listing, trace);
      std::string name = title.substr(0, title.find(':'));
      for (char &c : name) if (!isalnum((unsigned char)c)) c = '-';
      props::emit_ops(trace, std::string(emit_all) + "/" + name + "-" + std::to_string(emitted++), "# passing case");
    }
  });
}

}  // namespace hm
