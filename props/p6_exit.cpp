// Property 6: thread exit.
//
// exit-model: the heap state machine (heapmodel.h) weighted towards abandon,
// adopt and frees into abandoned heaps: blocks of an abandoned heap freed
// later from other heaps are reclaimed exactly once (never LIVE, never twice
// in the lists, queue accounting exact once adopted), the adopted heap is the
// oldest abandoned one and all invariants hold after every command.
// exit-thread: the same with a real thread: it allocates through the public
// API (its own heap), exits (TLS teardown abandons the heap), the main thread
// frees some blocks before and some after adopting the heap.
#include <pthread.h>

#include "heapmodel.h"

PROP("exit-model") {
  return hm::check_model("p6 exit: abandoned heaps' blocks freed from other heaps are reclaimed exactly once",
                         hm::mix_exit);
}

namespace {
struct ThreadArg {
  std::vector<size_t> sizes;
  std::vector<int> fate;  // 0 keep, 1 freed by the thread, 2 freed remotely before adopt, 3 after adopt
  std::vector<void *> ptrs;
  hak_heap *heap = nullptr;
};

void *worker(void *a) {
  ThreadArg *t = static_cast<ThreadArg *>(a);
  t->heap = hak_heap_current();
  for (size_t i = 0; i < t->sizes.size(); i++) {
    void *p = hak_malloc(t->sizes[i]);
    t->ptrs.push_back(p);
    if (p) props::fill(p, t->sizes[i], i);
  }
  for (size_t i = 0; i < t->sizes.size(); i++)
    if (t->fate[i] == 1 && t->ptrs[i]) {
      hak_free(t->ptrs[i]);
      t->ptrs[i] = nullptr;
    }
  return nullptr;  // thread exit: the heap is abandoned
}

void expect_states(const std::vector<hak_heap *> &hs, const ThreadArg &t, const std::set<size_t> &freed,
                   const char *when) {
  props::check_heaps(hs);
  std::vector<props::Seen> seen = props::snapshot(hs);  // no block twice, no overlap
  std::set<uintptr_t> live;
  for (size_t i = 0; i < t.ptrs.size(); i++)
    if (t.ptrs[i] && !freed.count(i)) {
      live.insert((uintptr_t)t.ptrs[i]);
      if (!props::intact(t.ptrs[i], t.sizes[i], i)) PFAIL("%s: block %zu (%p) corrupted", when, i, t.ptrs[i]);
    }
  for (const props::Seen &b : seen) {
    if (b.state == HAK_BLOCK_LIVE && !live.count(b.block))
      PFAIL("%s: block %#lx is LIVE in heap %d but the program freed it", when, (unsigned long)b.block, b.heap);
    if (b.state != HAK_BLOCK_LIVE && live.count(b.block))
      PFAIL("%s: live block %#lx is %s in heap %d", when, (unsigned long)b.block, props::state_name(b.state), b.heap);
  }
  for (size_t i : freed) {
    int st = hak_block_state(t.ptrs[i]);
    if (st == HAK_BLOCK_LIVE) PFAIL("%s: freed block %zu (%p) still LIVE", when, i, t.ptrs[i]);
  }
}
}  // namespace

PROP("exit-thread") {
  return rc::check("p6 exit: real thread exit, remote frees before/after adoption reclaimed exactly once", [] {
    ThreadArg t;
    t.sizes = *rc::gen::resize(40, rc::gen::nonEmpty(rc::gen::container<std::vector<size_t>>(props::gen_size(false))));
    t.fate = *rc::gen::container<std::vector<int>>(t.sizes.size(), rc::gen::inRange(0, 4));
    props::isolated([&] {
      hak_heap *other = hak_heap_new();
      pthread_t th;
      if (pthread_create(&th, nullptr, worker, &t) != 0) RC_FAIL("pthread_create");
      pthread_join(th, nullptr);
      hak_heap *dead = t.heap;
      for (size_t i = 0; i < t.ptrs.size(); i++)
        if (t.fate[i] != 1 && !t.ptrs[i]) PFAIL("thread: hak_malloc(%zu) returned NULL", t.sizes[i]);
      hak_stats st;
      hak_stats_get(&st);
      if (st.heaps_abandoned < 1) PFAIL("thread exited but hak_stats.heaps_abandoned == %lu", (unsigned long)st.heaps_abandoned);
      for (size_t i = 0; i < t.ptrs.size(); i++) {
        if (!t.ptrs[i]) continue;
        hak_block_info bi;
        if (!hak_classify(t.ptrs[i], &bi)) PFAIL("block %zu (%p) unknown after thread exit", i, t.ptrs[i]);
        if (bi.tier != HAK_TIER_LARGE && bi.owner != dead)
          PFAIL("block %zu (%p): owner %p, the dead thread's heap was %p", i, t.ptrs[i], (void *)bi.owner, (void *)dead);
      }
      std::vector<hak_heap *> hs{dead, other};
      std::set<size_t> freed;
      expect_states(hs, t, freed, "after thread exit");
      // Freed from another heap while the owner is abandoned.
      for (size_t i = 0; i < t.ptrs.size(); i++)
        if (t.fate[i] == 2) {
          hak_heap_free(other, t.ptrs[i]);
          freed.insert(i);
          expect_states(hs, t, freed, "after a remote free into the abandoned heap");
        }
      hak_heap *a = hak_heap_adopt();
      hak_heap_bind(nullptr);
      if (a != dead) PFAIL("hak_heap_adopt returned %p, the abandoned heap is %p", (void *)a, (void *)dead);
      expect_states(hs, t, freed, "after adopt");
      hak_heap_drain(a);
      expect_states(hs, t, freed, "after drain of the adopted heap");
      for (size_t i = 0; i < t.ptrs.size(); i++)
        if (t.fate[i] == 3) {
          hak_heap_free(other, t.ptrs[i]);
          freed.insert(i);
        }
      expect_states(hs, t, freed, "after remote frees into the adopted heap");
      hak_heap_collect(a);
      expect_states(hs, t, freed, "after collect of the adopted heap");
      // Reclaimed exactly once: the adopted heap hands out each block once.
      std::set<uintptr_t> out;
      for (size_t i = 0; i < t.ptrs.size(); i++)
        if (t.ptrs[i] && !freed.count(i)) out.insert((uintptr_t)t.ptrs[i]);
      std::vector<void *> fresh;
      for (size_t i : freed) {
        void *p = hak_heap_malloc(a, t.sizes[i]);
        if (!p) PFAIL("hak_heap_malloc(adopted, %zu) returned NULL", t.sizes[i]);
        if (!out.insert((uintptr_t)p).second) PFAIL("adopted heap handed out %p twice", p);
        fresh.push_back(p);
      }
      for (void *p : fresh) hak_heap_free(a, p);
      for (size_t i = 0; i < t.ptrs.size(); i++)
        if (t.ptrs[i] && !freed.count(i)) {
          hak_heap_free(a, t.ptrs[i]);
          freed.insert(i);
        }
      hak_heap_collect(a);
      hak_heap_collect(other);
      expect_states(hs, t, freed, "after freeing everything");
    });
  });
}
