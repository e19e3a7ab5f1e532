// props/props.h: shared helpers of the rapidcheck property suite (issue 4).
//
// Each props/p*_*.cpp file is one property group and one binary; it registers
// its properties with PROP(name) { ... } and links props/main.cpp, which runs
// them through rc::check and prints one "PASS: props/<name>" or
// "FAIL: props/<name>" line per property (the tests/check.sh contract).
//
// The core is built with -DHAK_NO_OVERRIDE: rapidcheck and libstdc++ use
// glibc, and the heaps under test are reached only through hak_* and
// hak_heap_*.  A stateful test case runs in a fork()ed child (see isolated()),
// so every case starts from a pristine allocator, and an abort inside the core
// (its own internal asserts, a misuse report) is a failing case that rapidcheck
// still shrinks, instead of a dead test binary.
#ifndef HAK_PROPS_H
#define HAK_PROPS_H

#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "hakmem.h"
#include "hakmem_debug.h"

namespace props {

// ---- registry ------------------------------------------------------------
struct Prop {
  const char *name;
  std::function<bool()> run;  // true when the property held
};
std::vector<Prop> &registry();
struct Registrar {
  Registrar(const char *name, std::function<bool()> fn) { registry().push_back({name, std::move(fn)}); }
};
#define PROPS_CAT2(a, b) a##b
#define PROPS_CAT(a, b) PROPS_CAT2(a, b)
// PROP(name) { body returning bool } registers a property runner.
#define PROP(name)                                                                      \
  static bool PROPS_CAT(prop_fn_, __LINE__)();                                          \
  static ::props::Registrar PROPS_CAT(prop_reg_, __LINE__)(name, PROPS_CAT(prop_fn_, __LINE__)); \
  static bool PROPS_CAT(prop_fn_, __LINE__)()

// ---- failure reporting ---------------------------------------------------
// Fail the case with a printf-formatted message ("file:line: message").
// Throws what RC_FAIL throws, without RC_FAIL's echo of the expression.
std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void fail_at(const char *file, int line, const std::string &msg);
#define PFAIL(...) ::props::fail_at(__FILE__, __LINE__, ::props::fmt(__VA_ARGS__))

// Run body in a fork()ed child with a timeout.  A rapidcheck failure or
// discard in the child is re-raised in the parent; a crash (signal, e.g. the
// core's abort) or an unexpected exit is a failure carrying the child's
// stderr.  PROPS_NOFORK=1 runs body in-process (for a debugger).
void isolated(const std::function<void()> &body, unsigned timeout_s = 60);

// ---- ops traces (replayable fuzz/ops inputs) -------------------------------
// A property that finds a bug records its shrunk command sequence as a list of
// abstract operations; emit_ops() encodes it in the fuzz/ops byte format
// (fuzz/FORMAT.md, fuzz/ops_emit.h) and writes it under repro/props/.
struct Op {
  enum Kind { MALLOC, FREE, REALLOC, CALLOC, ALIGNED, DRAIN, COLLECT, ABANDON, ADOPT, TRIM, DESTROY, FORGET /* slot died with its heap */ } kind;
  int heap;      // heap index (0..), -1 when irrelevant
  int slot;      // pointer slot
  size_t size;   // size / nmemb*size
  size_t align;  // aligned_alloc alignment
};
struct Trace {
  std::vector<Op> ops;
  void add(Op::Kind k, int heap, int slot = -1, size_t size = 0, size_t align = 0) {
    ops.push_back(Op{k, heap, slot, size, align});
  }
  std::string text() const;  // human-readable listing
};
// Write path.ops (fuzz/ops format, when the encoder is available) and
// path.txt (listing + note).  Returns false when the .ops could not be written.
bool emit_ops(const Trace &t, const std::string &path, const std::string &note);

// The last failing case of the running property (rapidcheck re-runs the
// minimal case last, so after rc::check this holds the shrunk sequence).
struct Failure {
  bool set = false;
  size_t ncmds = 0;      // commands in the sequence
  std::string listing;   // one command per line
  std::string why;       // the failure message
  Trace trace;
};
Failure &last_failure();
// Run isolated(body); when the case fails, record it (listing, trace) as the
// last failure and rethrow.
void isolated_recorded(const std::function<void()> &body, size_t ncmds, const std::string &listing,
                       const Trace &trace);

// ---- allocator observation -----------------------------------------------
struct Seen {
  uintptr_t block;
  size_t usable;
  int cls;
  int state;
  int heap;  // index into the heap vector passed to snapshot()
};
// Visit every heap; returns all blocks sorted by address.  Fails (RC_FAIL)
// when a block is reported twice (by one heap or by two), when two blocks
// overlap, or when a state/class is out of range.
std::vector<Seen> snapshot(const std::vector<hak_heap *> &heaps);
// Per slab (a 64 KiB tiny or 256 KiB mid piece, aligned to its size): the
// visited blocks sit on block boundaries from the slab's start, share one
// class and one heap, and number exactly slab size / block size (types.h:
// every block index < capacity is in exactly one state).
void check_slab_counts(const std::vector<Seen> &seen);
// hak_heap_check on every heap and hak_check_all; RC_FAIL with the message.
void check_heaps(const std::vector<hak_heap *> &heaps);
const char *state_name(int s);

// Fill / verify a recognisable pattern in a live block.
inline unsigned char pat(uint64_t id, size_t i) { return (unsigned char)(id * 131u + i * 7u + 1u); }
void fill(void *p, size_t n, uint64_t id);
bool intact(const void *p, size_t n, uint64_t id, size_t *bad = nullptr);

// Size generator: mostly tiny, some mid, a few large (if allow_large).
rc::Gen<size_t> gen_size(bool allow_large = true);

// Number of cases: RC_PARAMS governs; nothing here.
}  // namespace props

#endif
