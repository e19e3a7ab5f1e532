/* Every atomic operation of the core goes through these wrappers, each with
 * an explicit memory order, so that a scheduler (repro/ sched build) or a
 * model checker can hook all of them.  No raw __atomic or <stdatomic.h>
 * use is allowed anywhere else in src/.
 *
 * HAK_ATOMIC_HOOK() runs before every operation; it is empty unless the
 * build defines HAK_SCHED, in which case hak_sched_point() may switch to
 * another logical thread. */
#ifndef HAK_ATOMIC_H
#define HAK_ATOMIC_H

#ifdef HAK_ATOMIC_MODEL
/* A model checker implements this same API over its own atomics, so the
 * unchanged core code runs under weak-memory exploration (repro/relacy/). */
#include HAK_ATOMIC_MODEL
#else

#include <stdint.h>

#ifdef HAK_SCHED
void hak_sched_point(void);
#define HAK_ATOMIC_HOOK() hak_sched_point()
#else
#define HAK_ATOMIC_HOOK() ((void)0)
#endif

#define HAK_RELAXED __ATOMIC_RELAXED
#define HAK_ACQUIRE __ATOMIC_ACQUIRE
#define HAK_RELEASE __ATOMIC_RELEASE
#define HAK_ACQ_REL __ATOMIC_ACQ_REL
#define HAK_SEQ_CST __ATOMIC_SEQ_CST

/* Plain-layout wrappers: the same size and alignment as the raw type. */
typedef struct { void *v; }     hak_atomic_ptr;
typedef struct { uint32_t v; }  hak_atomic_u32;
typedef struct { uint64_t v; }  hak_atomic_u64;

static inline void *hak_atomic_ptr_load(hak_atomic_ptr *a, int order) {
  HAK_ATOMIC_HOOK();
  return __atomic_load_n(&a->v, order);
}
static inline void hak_atomic_ptr_store(hak_atomic_ptr *a, void *x, int order) {
  HAK_ATOMIC_HOOK();
  __atomic_store_n(&a->v, x, order);
}
static inline void *hak_atomic_ptr_exchange(hak_atomic_ptr *a, void *x, int order) {
  HAK_ATOMIC_HOOK();
  return __atomic_exchange_n(&a->v, x, order);
}
/* Weak CAS: on failure *expected receives the current value. */
static inline int hak_atomic_ptr_cas(hak_atomic_ptr *a, void **expected, void *desired,
                                     int success, int failure) {
  HAK_ATOMIC_HOOK();
  return __atomic_compare_exchange_n(&a->v, expected, desired, 1, success, failure);
}

static inline uint32_t hak_atomic_u32_load(hak_atomic_u32 *a, int order) {
  HAK_ATOMIC_HOOK();
  return __atomic_load_n(&a->v, order);
}
static inline void hak_atomic_u32_store(hak_atomic_u32 *a, uint32_t x, int order) {
  HAK_ATOMIC_HOOK();
  __atomic_store_n(&a->v, x, order);
}
static inline uint32_t hak_atomic_u32_exchange(hak_atomic_u32 *a, uint32_t x, int order) {
  HAK_ATOMIC_HOOK();
  return __atomic_exchange_n(&a->v, x, order);
}
static inline int hak_atomic_u32_cas(hak_atomic_u32 *a, uint32_t *expected, uint32_t desired,
                                     int success, int failure) {
  HAK_ATOMIC_HOOK();
  return __atomic_compare_exchange_n(&a->v, expected, desired, 0, success, failure);
}

static inline uint64_t hak_atomic_u64_load(hak_atomic_u64 *a, int order) {
  HAK_ATOMIC_HOOK();
  return __atomic_load_n(&a->v, order);
}
static inline void hak_atomic_u64_store(hak_atomic_u64 *a, uint64_t x, int order) {
  HAK_ATOMIC_HOOK();
  __atomic_store_n(&a->v, x, order);
}
static inline int hak_atomic_u64_cas(hak_atomic_u64 *a, uint64_t *expected, uint64_t desired,
                                     int success, int failure) {
  HAK_ATOMIC_HOOK();
  return __atomic_compare_exchange_n(&a->v, expected, desired, 1, success, failure);
}
static inline uint64_t hak_atomic_u64_add(hak_atomic_u64 *a, uint64_t x, int order) {
  HAK_ATOMIC_HOOK();
  return __atomic_fetch_add(&a->v, x, order);
}
static inline uint64_t hak_atomic_u64_sub(hak_atomic_u64 *a, uint64_t x, int order) {
  HAK_ATOMIC_HOOK();
  return __atomic_fetch_sub(&a->v, x, order);
}
static inline uint64_t hak_atomic_u64_or(hak_atomic_u64 *a, uint64_t x, int order) {
  HAK_ATOMIC_HOOK();
  return __atomic_fetch_or(&a->v, x, order);
}
/* Raise *a to at least x (peak tracking). */
static inline void hak_atomic_u64_max(hak_atomic_u64 *a, uint64_t x) {
  uint64_t cur = hak_atomic_u64_load(a, HAK_RELAXED);
  while (cur < x && !hak_atomic_u64_cas(a, &cur, x, HAK_RELAXED, HAK_RELAXED)) {}
}

/* Words other threads may read while their owner changes them, but whose
 * value is fixed for any pointer the program can legally hold: the address
 * map entries (set before a region's first block is handed out) and a
 * slab's carve count (only grows, only by its owner; a legitimately held
 * block is below it).  The accesses are atomic, so the language model and
 * TSan see no data race, but they are not schedule points: interleaving
 * there adds states without adding behaviours.  On x86-64 both are plain
 * moves. */
static inline void *hak_atomic_ptr_peek(hak_atomic_ptr *a) {
  return __atomic_load_n(&a->v, __ATOMIC_ACQUIRE);
}
static inline uint16_t hak_atomic_u16_peek(const uint16_t *p) {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static inline void hak_atomic_u16_grow(uint16_t *p, uint16_t x) {
  __atomic_store_n(p, x, __ATOMIC_RELAXED);
}

/* Test-and-test-and-set spin lock for the few global slow-path structures.
 * Spinning yields the CPU; under HAK_SCHED every probe is a schedule point. */
typedef hak_atomic_u32 hak_lock;
void hak__lock_wait(hak_lock *l);
static inline void hak_lock_acquire(hak_lock *l) {
  if (hak_atomic_u32_exchange(l, 1, HAK_ACQUIRE) != 0) hak__lock_wait(l);
}
static inline int hak_lock_try(hak_lock *l) {
  return hak_atomic_u32_load(l, HAK_RELAXED) == 0 && hak_atomic_u32_exchange(l, 1, HAK_ACQUIRE) == 0;
}
static inline void hak_lock_release(hak_lock *l) { hak_atomic_u32_store(l, 0, HAK_RELEASE); }
/* After fork, in the child: the lock holder no longer exists. */
static inline void hak_lock_reset(hak_lock *l) { l->v = 0; }

#endif /* HAK_ATOMIC_MODEL */
#endif
