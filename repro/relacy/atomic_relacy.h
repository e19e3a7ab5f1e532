/* repro/relacy/atomic_relacy.h: the src/atomic.h API over Relacy's atomics.
 * src/atomic.h includes this file in place of its own body when compiled
 * with -DHAK_ATOMIC_MODEL='"atomic_relacy.h"', so code of the core that
 * goes through the atomics header runs unchanged under Relacy's weak-memory
 * exploration.  Only the operations the remote queue uses are provided: a
 * missing one is a compile error, never a silently strong fallback. */
#include <relacy/relacy.hpp>
#include <stdint.h>

#define HAK_RELAXED __ATOMIC_RELAXED
#define HAK_ACQUIRE __ATOMIC_ACQUIRE
#define HAK_RELEASE __ATOMIC_RELEASE
#define HAK_ACQ_REL __ATOMIC_ACQ_REL
#define HAK_SEQ_CST __ATOMIC_SEQ_CST

/* The core passes the __ATOMIC_* constants; Relacy wants its own. */
static inline rl::memory_order hak__rl_order(int order) {
  switch (order) {
  case __ATOMIC_RELAXED: return rl::mo_relaxed;
  case __ATOMIC_ACQUIRE: return rl::mo_acquire;
  case __ATOMIC_RELEASE: return rl::mo_release;
  case __ATOMIC_ACQ_REL: return rl::mo_acq_rel;
  default:               return rl::mo_seq_cst;
  }
}

typedef struct { rl::atomic<void *> v; } hak_atomic_ptr;

static inline void *hak_atomic_ptr_load(hak_atomic_ptr *a, int order) {
  return a->v($).load(hak__rl_order(order));
}
static inline void hak_atomic_ptr_store(hak_atomic_ptr *a, void *x, int order) {
  a->v($).store(x, hak__rl_order(order));
}
static inline void *hak_atomic_ptr_exchange(hak_atomic_ptr *a, void *x, int order) {
  return a->v($).exchange(x, hak__rl_order(order));
}
static inline int hak_atomic_ptr_cas(hak_atomic_ptr *a, void **expected, void *desired, int success, int failure) {
  return a->v($).compare_exchange_weak(*expected, desired, hak__rl_order(success), hak__rl_order(failure));
}
