// props/heapmodel.h: the multi-heap state machine shared by property 1
// (free-list / remote-queue disjointness) and property 6 (thread exit).
//
// Model: which ids are live, their requested size and owner heap; which heaps
// are abandoned and in what order.  Sut: NHEAPS explicit heaps driven "as"
// each heap from one OS thread (hakmem_debug.h), the pointer behind each id.
// After every command verify() checks the whole allocator against the model.
#ifndef HAK_PROPS_HEAPMODEL_H
#define HAK_PROPS_HEAPMODEL_H

#include "props.h"

namespace hm {

constexpr int NHEAPS = 3;
constexpr int OWNER_LARGE = -1;    // large block: no owner heap
constexpr int OWNER_UNKNOWN = -2;  // realloc of a large block to a small size: may stay in place

struct MBlock {
  int owner;
  size_t size;
};

enum Profile { GENERAL = 0, REMOTE = 1 };

struct Model {
  int profile = GENERAL;  // REMOTE: few size classes, so drained blocks get reused
  std::map<int, MBlock> live;
  bool abandoned[NHEAPS] = {};
  std::vector<int> aqueue;  // abandoned heaps, oldest first
  int next_id = 0;
  bool alive(int h) const { return h >= 0 && h < NHEAPS && !abandoned[h]; }
  int nalive() const {
    int n = 0;
    for (int h = 0; h < NHEAPS; h++) n += alive(h);
    return n;
  }
};

struct Live {
  void *p;
  size_t size;
  size_t usable;
  int owner;  // actual: heap index or OWNER_LARGE
  int cls;
};

struct Sut {
  std::vector<hak_heap *> heaps;
  std::map<int, Live> live;
  std::unordered_map<uintptr_t, int> byaddr;
  // Remote queues as a sequential model of concurrency: queued[o] holds the
  // blocks remote frees pushed to heap o and that the last observation still
  // found REMOTE there.  verify() checks the observed queue against it: a
  // block may leave a queue only through an operation done as its owner (or
  // while the owner is abandoned); nothing enters one except by a push.
  std::vector<std::set<uintptr_t>> queued;
  uint64_t drained_stat = 0;  // hak_stats.remote_frees_drained at the last check
  // tiny_refills + mid_refills at the last check.  A refill is the owner
  // popping its slab free lists, and the owner drains its remote queue
  // first (HAKMEM.md, "Remote free queue"): so after a command that refilled
  // as heap h, h's queue is empty (only h acts during a command, nothing
  // pushes to h after its refill).
  uint64_t refill_stat = 0;
  Sut();
};

struct HCmd : rc::state::Command<Model, Sut> {
  // The abstract operations this command performs, for the fuzz/ops replay.
  virtual void ops(const Model &s0, props::Trace &t) const = 0;
};
using CmdSP = std::shared_ptr<const rc::state::Command<Model, Sut>>;

// Post-command checks (flags say what the command guarantees for heap h).
enum : unsigned {
  V_NO_REMOTE = 1u,  // heap h has no block on its remote queue
  V_NO_CACHED = 2u,  // heap h has no block in its thread cache
};
// h: the heap the command acted as (-1: none); only h may have drained its
// own remote queue during the command.
void verify(const Model &m, Sut &s, int h = -1, unsigned flags = 0, const std::vector<uintptr_t> &touched = {});

// Command generators.  mix_general: property 1; mix_exit: property 6 (more
// abandon/adopt and frees into abandoned heaps).
rc::Gen<CmdSP> mix_general(const Model &m);
rc::Gen<CmdSP> mix_exit(const Model &m);
rc::Gen<CmdSP> mix_remote(const Model &m);

// Run the state machine as a rapidcheck property; records the last failing
// (= shrunk) sequence in props::last_failure().
bool check_model(const std::string &title, rc::Gen<CmdSP> (*mix)(const Model &), int profile = GENERAL);

}  // namespace hm

#endif
