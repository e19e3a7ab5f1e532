// props/common.cpp: helpers shared by every property group (see props.h).
#include "props.h"

#include <cstdarg>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include("../fuzz/ops_emit.h")
#define PROPS_HAVE_OPS_EMIT 1
extern "C" {
#include "../fuzz/ops_emit.h"
}
#endif
#endif

namespace props {

std::vector<Prop> &registry() {
  static std::vector<Prop> r;
  return r;
}

Failure &last_failure() {
  static Failure f;
  return f;
}

std::string fmt(const char *f, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

void fail_at(const char *file, int line, const std::string &msg) {
  const char *base = strrchr(file, '/');
  throw rc::detail::CaseResult(rc::detail::CaseResult::Type::Failure,
                               fmt("%s:%d: ", base ? base + 1 : file, line) + msg);
}

const char *state_name(int s) {
  switch (s) {
    case HAK_BLOCK_LIVE: return "LIVE";
    case HAK_BLOCK_CACHED: return "CACHED";
    case HAK_BLOCK_FREE: return "FREE";
    case HAK_BLOCK_REMOTE: return "REMOTE";
    case HAK_BLOCK_UNCARVED: return "UNCARVED";
    case HAK_BLOCK_BIGCACHE: return "BIGCACHE";
    case -1: return "not-a-block";
    default: return "?";
  }
}

// ---- isolation -----------------------------------------------------------
static std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) { out.append(buf, (size_t)n); continue; }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  return out;
}

void isolated(const std::function<void()> &body, unsigned timeout_s) {
  static const bool nofork = getenv("PROPS_NOFORK") && *getenv("PROPS_NOFORK") == '1';
  if (nofork) { body(); return; }
  int pfd[2];
  if (pipe(pfd) != 0) RC_FAIL("pipe failed");
  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) RC_FAIL("fork failed");
  if (pid == 0) {
    close(pfd[0]);
    dup2(pfd[1], 2);  // the core's "hakmem: ..." lines and assert messages
    close(pfd[1]);
    alarm(timeout_s);
    int code = 0;
    std::string msg;
    try {
      body();
    } catch (const rc::detail::CaseResult &r) {
      msg = r.description;
      code = r.type == rc::detail::CaseResult::Type::Failure ? 1
           : r.type == rc::detail::CaseResult::Type::Discard ? 3 : 0;
    } catch (const std::exception &e) {
      msg = std::string("exception: ") + e.what();
      code = 2;
    } catch (...) {
      msg = "unknown exception";
      code = 2;
    }
    if (!msg.empty()) {
      ssize_t w = write(2, msg.data(), msg.size());
      (void)w;
    }
    _exit(code);  // no atexit handlers: rapidcheck's belong to the parent
  }
  close(pfd[1]);
  std::string out = read_all(pfd[0]);
  close(pfd[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(st)) {
    int c = WEXITSTATUS(st);
    if (c == 0) return;
    if (c == 3) throw rc::detail::CaseResult(rc::detail::CaseResult::Type::Discard, out);
    if (c == 1) throw rc::detail::CaseResult(rc::detail::CaseResult::Type::Failure, out);
    throw rc::detail::CaseResult(rc::detail::CaseResult::Type::Failure, fmt("child exited %d: ", c) + out);
  }
  if (WIFSIGNALED(st)) {
    int sig = WTERMSIG(st);
    throw rc::detail::CaseResult(rc::detail::CaseResult::Type::Failure,
                                 fmt("child killed by signal %d (%s)%s; its stderr:\n", sig, strsignal(sig),
                                     sig == SIGALRM ? " [timeout: hang in the core?]" : "") + out);
  }
  RC_FAIL("child: unknown status");
}

void isolated_recorded(const std::function<void()> &body, size_t ncmds, const std::string &listing,
                       const Trace &trace) {
  try {
    isolated(body);
  } catch (const rc::detail::CaseResult &r) {
    if (r.type == rc::detail::CaseResult::Type::Failure) {
      Failure &f = last_failure();
      f = Failure();
      f.set = true;
      f.ncmds = ncmds;
      f.listing = listing;
      f.trace = trace;
      f.why = r.description;
    }
    throw;
  }
}

// ---- traces --------------------------------------------------------------
static const char *op_name(Op::Kind k) {
  switch (k) {
    case Op::MALLOC: return "malloc";
    case Op::FREE: return "free";
    case Op::REALLOC: return "realloc";
    case Op::CALLOC: return "calloc";
    case Op::ALIGNED: return "aligned_alloc";
    case Op::DRAIN: return "drain";
    case Op::COLLECT: return "collect";
    case Op::ABANDON: return "abandon";
    case Op::ADOPT: return "adopt";
    case Op::TRIM: return "trim";
    case Op::DESTROY: return "destroy";
    case Op::FORGET: return "(gone with the heap)";
  }
  return "?";
}

std::string Trace::text() const {
  std::ostringstream os;
  for (const Op &o : ops) {
    os << "heap " << o.heap << ": " << op_name(o.kind);
    if (o.slot >= 0) os << " #" << o.slot;
    if (o.kind == Op::MALLOC || o.kind == Op::REALLOC || o.kind == Op::CALLOC || o.kind == Op::ALIGNED)
      os << " size " << o.size;
    if (o.kind == Op::ALIGNED) os << " align " << o.align;
    os << "\n";
  }
  return os.str();
}

#ifdef PROPS_HAVE_OPS_EMIT
// Encode the trace for fuzz/ops (header: check after every op, deep checks,
// NHEAPS heaps).  Model ids are mapped to the lowest free fuzz slot.
static bool emit_ops_file(const Trace &t, const std::string &path) {
  std::vector<uint8_t> buf(HFZ_HEADER_LEN + HFZ_REC_LEN * (t.ops.size() + 1));
  hfz_writer w;
  int maxheap = 0;
  for (const Op &o : t.ops) maxheap = std::max(maxheap, o.heap);
  hfz_init(&w, buf.data(), buf.size(), 1, HFZ_F_DEEP, (unsigned)maxheap + 1);
  std::map<int, unsigned> slot_of;
  std::set<unsigned> used;
  auto slot = [&](int id, bool create) -> unsigned {
    auto it = slot_of.find(id);
    if (it != slot_of.end()) return it->second;
    if (!create) { w.err = 1; return 0; }
    unsigned s = 0;
    while (used.count(s)) s++;
    if (s >= HFZ_SLOTS) { w.err = 1; return 0; }
    used.insert(s);
    slot_of[id] = s;
    return s;
  };
  auto release = [&](int id) {
    auto it = slot_of.find(id);
    if (it == slot_of.end()) return;
    used.erase(it->second);
    slot_of.erase(it);
  };
  for (const Op &o : t.ops) {
    unsigned h = o.heap < 0 ? 0 : (unsigned)o.heap;
    switch (o.kind) {
      case Op::MALLOC: hfz_malloc(&w, h, slot(o.slot, true), o.size); break;
      case Op::CALLOC: hfz_calloc(&w, h, slot(o.slot, true), 1, o.size); break;
      case Op::ALIGNED: hfz_aligned(&w, h, slot(o.slot, true), o.align, o.size); break;
      case Op::REALLOC:
        hfz_realloc(&w, h, slot(o.slot, true), o.size);
        if (o.size == 0) release(o.slot);
        break;
      case Op::FREE: hfz_free_by(&w, h, slot(o.slot, false)); release(o.slot); break;
      case Op::DRAIN: hfz_drain(&w, h); break;
      case Op::COLLECT: hfz_collect(&w, h); break;
      case Op::ABANDON: hfz_abandon(&w, h); break;
      case Op::ADOPT: hfz_adopt(&w, h); break;
      case Op::TRIM: hfz_trim(&w); break;
      case Op::DESTROY: hfz_destroy(&w, h); break;
      case Op::FORGET: release(o.slot); break;
    }
  }
  if (w.err) {
    // No stale reproducer from an earlier failure next to this .txt.
    unlink(path.c_str());
    fprintf(stderr, "props: the sequence does not fit the fuzz/ops format (> %d live slots?)\n", HFZ_SLOTS);
    return false;
  }
  return hfz_write_file(&w, path.c_str()) == 0;
}
#endif

bool emit_ops(const Trace &t, const std::string &path, const std::string &note) {
  {
    std::string dir = path.substr(0, path.rfind('/'));
    std::string cmd = "mkdir -p '" + dir + "'";
    if (system(cmd.c_str()) != 0) return false;
  }
  FILE *f = fopen((path + ".txt").c_str(), "w");
  if (!f) return false;
  fprintf(f, "%s\n\n# operations (heap index, block id; the .ops maps ids to the lowest free slot)\n%s", note.c_str(),
          t.text().c_str());
  fclose(f);
#ifdef PROPS_HAVE_OPS_EMIT
  return emit_ops_file(t, path + ".ops");
#else
  fprintf(stderr, "props: fuzz/ops_emit.h not available: wrote only %s.txt\n", path.c_str());
  return false;
#endif
}

// ---- observation ---------------------------------------------------------
namespace {
struct VisitCtx {
  std::vector<Seen> *out;
  int heap;
};
void visit_cb(void *arg, void *block, size_t usable, int cls, int state) {
  VisitCtx *c = static_cast<VisitCtx *>(arg);
  c->out->push_back(Seen{(uintptr_t)block, usable, cls, state, c->heap});
}
}  // namespace

std::vector<Seen> snapshot(const std::vector<hak_heap *> &heaps) {
  std::vector<Seen> all;
  all.reserve(1 << 14);
  for (size_t i = 0; i < heaps.size(); i++) {
    size_t first = all.size();
    VisitCtx c{&all, (int)i};
    hak_heap_visit(heaps[i], visit_cb, &c);
    /* the live-only visitor reports exactly the LIVE blocks, in the same order */
    std::vector<Seen> live;
    VisitCtx lc{&live, (int)i};
    hak_heap_visit_live(heaps[i], visit_cb, &lc);
    size_t k = 0;
    for (size_t j = first; j < all.size(); j++) {
      if (all[j].state != HAK_BLOCK_LIVE) continue;
      if (k >= live.size() || live[k].block != all[j].block || live[k].usable != all[j].usable ||
          live[k].cls != all[j].cls || live[k].state != HAK_BLOCK_LIVE)
        PFAIL("visit: heap %d: hak_heap_visit_live report %zu differs from hak_heap_visit's LIVE block %#lx",
              (int)i, k, (unsigned long)all[j].block);
      k++;
    }
    if (k != live.size())
      PFAIL("visit: heap %d: hak_heap_visit_live reports %zu blocks, hak_heap_visit %zu LIVE ones", (int)i,
            live.size(), k);
  }
  std::stable_sort(all.begin(), all.end(), [](const Seen &a, const Seen &b) { return a.block < b.block; });
  const int ncls = hak_class_count();
  for (size_t i = 0; i < all.size(); i++) {
    const Seen &s = all[i];
    if (s.state < HAK_BLOCK_LIVE || s.state > HAK_BLOCK_UNCARVED)
      PFAIL("visit: block %#lx of heap %d has state %d (%s), not one of live/cached/free/remote/uncarved",
            (unsigned long)s.block, s.heap, s.state, state_name(s.state));
    if (s.cls < 0 || s.cls >= ncls)
      PFAIL("visit: block %#lx of heap %d has class %d (count %d)", (unsigned long)s.block, s.heap, s.cls, ncls);
    if (s.usable != hak_class_size(s.cls))
      PFAIL("visit: block %#lx class %d usable %zu != class size %zu", (unsigned long)s.block, s.cls, s.usable,
            hak_class_size(s.cls));
    if (s.block % 16)
      PFAIL("visit: block %#lx of heap %d is not 16-byte aligned", (unsigned long)s.block, s.heap);
    if (i > 0) {
      const Seen &p = all[i - 1];
      if (p.block == s.block)
        PFAIL("block %#lx reported twice: heap %d state %s and heap %d state %s (a block must be in exactly one "
              "state/list)", (unsigned long)s.block, p.heap, state_name(p.state), s.heap, state_name(s.state));
      if (p.block + p.usable > s.block)
        PFAIL("blocks overlap: %#lx+%zu (heap %d %s) and %#lx (heap %d %s)", (unsigned long)p.block, p.usable,
              p.heap, state_name(p.state), (unsigned long)s.block, s.heap, state_name(s.state));
    }
  }
  return all;
}

void check_slab_counts(const std::vector<Seen> &seen) {
  size_t i = 0;
  while (i < seen.size()) {
    const Seen &first = seen[i];
    const uintptr_t slab = hak_class_tier(first.cls) == HAK_TIER_TINY ? (uintptr_t)64 << 10 : (uintptr_t)256 << 10;
    const uintptr_t base = first.block & ~(slab - 1);
    size_t n = 0, live = 0;
    for (; i < seen.size() && (seen[i].block & ~(slab - 1)) == base; i++, n++) {
      const Seen &b = seen[i];
      if (b.cls != first.cls || b.heap != first.heap)
        PFAIL("slab %#lx: block %#lx is class %d of heap %d, block %#lx class %d of heap %d", (unsigned long)base,
              (unsigned long)first.block, first.cls, first.heap, (unsigned long)b.block, b.cls, b.heap);
      if ((b.block - base) % b.usable != 0)
        PFAIL("slab %#lx (class %d, %zu B blocks): block %#lx is not on a block boundary", (unsigned long)base,
              b.cls, b.usable, (unsigned long)b.block);
      live += b.state == HAK_BLOCK_LIVE;
    }
    size_t capacity = slab / first.usable;
    if (n != capacity)
      PFAIL("slab %#lx of heap %d (class %d, %zu B blocks): the visit reports %zu blocks (%zu live), capacity is %zu: "
            "blocks lost or invented", (unsigned long)base, first.heap, first.cls, first.usable, n, live, capacity);
  }
}

void check_heaps(const std::vector<hak_heap *> &heaps) {
  // PROPS_NO_CHECKER=1 skips the core's own checker, to see that the model
  // side (visitor, live set, queues, contents) catches a bug on its own.
  static const bool skip = getenv("PROPS_NO_CHECKER") && *getenv("PROPS_NO_CHECKER") == '1';
  if (skip) return;
  char msg[512];
  for (size_t i = 0; i < heaps.size(); i++) {
    msg[0] = 0;
    if (hak_heap_check(heaps[i], msg, sizeof msg) != 0) PFAIL("hak_heap_check(heap #%zu): %s", i, msg);
  }
  msg[0] = 0;
  if (hak_check_all(msg, sizeof msg) != 0) PFAIL("hak_check_all: %s", msg);
}

void fill(void *p, size_t n, uint64_t id) {
  unsigned char *b = static_cast<unsigned char *>(p);
  for (size_t i = 0; i < n; i++) b[i] = pat(id, i);
}

bool intact(const void *p, size_t n, uint64_t id, size_t *bad) {
  const unsigned char *b = static_cast<const unsigned char *>(p);
  for (size_t i = 0; i < n; i++)
    if (b[i] != pat(id, i)) {
      if (bad) *bad = i;
      return false;
    }
  return true;
}

rc::Gen<size_t> gen_size(bool allow_large) {
  using rc::gen::inRange;
  using rc::gen::just;
  rc::Gen<size_t> tiny_small = inRange<size_t>(1, 129);
  rc::Gen<size_t> tiny = inRange<size_t>(1, HAK_TINY_MAX + 1);
  rc::Gen<size_t> mid = inRange<size_t>(HAK_TINY_MAX + 1, HAK_MID_MAX + 1);
  rc::Gen<size_t> large = inRange<size_t>(HAK_MID_MAX + 1, 4u << 20);
  if (allow_large)
    return rc::gen::weightedOneOf<size_t>({{40, tiny_small}, {30, tiny}, {20, mid}, {4, large}, {1, just<size_t>(0)}});
  return rc::gen::weightedOneOf<size_t>({{45, tiny_small}, {30, tiny}, {20, mid}, {1, just<size_t>(0)}});
}

}  // namespace props
