/* fuzz/sched/sched_rt.c: hak_sched_point() and the coroutine scheduler.
 * See sched_rt.h for the model.  Link this file with a core built with
 * -DHAK_SCHED (every atomic operation of src/atomic.h calls
 * hak_sched_point() first). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sched_rt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "hakmem_debug.h"

#if defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define HS_ASAN 1
#  endif
#  if __has_feature(thread_sanitizer)
#    define HS_TSAN 1
#  endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(HS_ASAN)
#  define HS_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(HS_TSAN)
#  define HS_TSAN 1
#endif
#ifdef HS_ASAN
#  include <sanitizer/asan_interface.h>
#  include <sanitizer/common_interface_defs.h>
#endif
#ifdef HS_TSAN
#  include <sanitizer/tsan_interface.h>
#endif

#define HS_STACK        ((size_t)1 << 20)
#define HS_MAX_POINTS   4000000ul      /* per run: more means no progress */
#define HS_MAX_OP_POINTS 1000000ul     /* per operation of one thread */
#define HS_SLICE        64u            /* exhausted schedule: switch every 64 points in one op */
#define HS_RING         48

enum { ST_RUN = 0, ST_BARRIER = 1, ST_DONE = 2 };
enum { K_ATOMIC = 0, K_BOUNDARY = 1, K_MAIN = 2 };

typedef struct hs_thread {
  ucontext_t   ctx;
  void        *stack;
  int          state, started, at_boundary;
  hak_heap    *heap;                 /* saved TLS binding while switched out */
  int          err;                  /* saved errno: each logical thread has its own */
  unsigned long points_in_op;
  unsigned     opno;
  const char  *opname;
  void        *asan_fake;
  void        *tsan_fiber;
} hs_thread;

typedef struct hs_event { unsigned long point; signed char from, to, kind; unsigned opno; const char *op; } hs_event;

static struct {
  hs_thread        t[HS_MAXT];
  unsigned         n;
  int              cur;              /* running logical thread, -1: scheduler */
  int              last;             /* the thread that ran last */
  int              next;             /* chosen by a thread that yielded to the scheduler */
  int              stuck;
  const uint8_t   *sched;
  size_t           len, pos;
  hs_entry_fn      fn;
  hs_quiescent_fn  quiescent;
  ucontext_t       main_ctx;
  int              quiet;
  int              trace;
  hs_stats         st;
  hs_event         ring[HS_RING];
  unsigned long    nring;
  const void      *main_bottom;
  size_t           main_size;
  void            *main_fake;
  void            *tsan_main;
} H = { .cur = -1, .last = -1, .next = -1 };

static const char *const kind_name[] = { "atomic", "boundary", "sched" };

/* ---- reports (no allocation) ------------------------------------------- */
static void say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int fd, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  for (int off = 0; off < n;) {
    ssize_t w = write(fd, buf + off, (size_t)(n - off));
    if (w <= 0) return;
    off += (int)w;
  }
}

void hs_trace(int on) { H.trace = on; }
void hs_get_stats(hs_stats *out) { *out = H.st; }

void hs_dump(int fd) {
  static const char *const sn[] = { "running", "at barrier", "done" };
  say(fd, "hak-sched: %lu points, %lu decisions, %lu switches, %lu of %zu schedule bytes used\n",
      H.st.points, H.st.decisions, H.st.switches, H.st.bytes_used, H.len);
  for (unsigned i = 0; i < H.n; i++) {
    hs_thread *T = &H.t[i];
    say(fd, "hak-sched:   T%u %s%s, op #%u %s (%lu points into it)%s\n", i,
        T->started ? sn[T->state] : "not started", (int)i == H.cur ? " (current)" : "", T->opno,
        T->opname ? T->opname : "-", T->points_in_op, T->at_boundary ? ", between operations" : "");
  }
  unsigned long first = H.nring > HS_RING ? H.nring - HS_RING : 0;
  if (H.nring) say(fd, "hak-sched: last switches:\n");
  for (unsigned long i = first; i < H.nring; i++) {
    hs_event *e = &H.ring[i % HS_RING];
    if (e->from < 0) say(fd, "hak-sched:   point %-7lu -> T%d (%s)\n", e->point, e->to, kind_name[(int)e->kind]);
    else say(fd, "hak-sched:   point %-7lu T%d -> T%d (%s, T%d in op #%u %s)\n", e->point, e->from, e->to,
             kind_name[(int)e->kind], e->from, e->opno, e->op ? e->op : "-");
  }
}

void hs_dump_once(int fd) {
  static volatile int done;
  if (done) return;
  done = 1;
  hs_dump(fd);
}

static void note_switch(int from, int to, int kind) {
  hs_event *e = &H.ring[H.nring++ % HS_RING];
  e->point = H.st.points;
  e->from = (signed char)from;
  e->to = (signed char)to;
  e->kind = (signed char)kind;
  e->opno = from >= 0 ? H.t[from].opno : 0;
  e->op = from >= 0 ? H.t[from].opname : NULL;
  if (H.trace) {
    if (from < 0) say(2, "hak-sched: point %lu -> T%d (%s)\n", H.st.points, to, kind_name[kind]);
    else say(2, "hak-sched: point %lu T%d -> T%d (%s in op #%u %s)\n", H.st.points, from, to, kind_name[kind],
             e->opno, e->op ? e->op : "-");
  }
}

/* ---- decisions ----------------------------------------------------------- */
static unsigned runnable(int *r) {
  unsigned k = 0;
  for (unsigned i = 0; i < H.n; i++)
    if (H.t[i].state == ST_RUN) r[k++] = (int)i;
  return k;
}

/* The next runnable thread after `after` in id order (round robin). */
static int rr_next(const int *r, unsigned k, int after) {
  for (unsigned i = 0; i < k; i++)
    if (r[i] > after) return r[i];
  return r[0];
}

/* Choose who runs next.  cur: the thread at the point (-1: the scheduler,
 * after a thread blocked or finished). */
static int choose(int cur, int kind) {
  int r[HS_MAXT];
  unsigned k = runnable(r);
  if (k == 0) return -1;
  if (k == 1) return r[0];
  H.st.decisions++;
  if (H.pos < H.len) {
    H.st.bytes_used++;
    return r[H.sched[H.pos++] % k];
  }
  if (cur < 0) return rr_next(r, k, H.last);
  if (kind == K_BOUNDARY || H.t[cur].points_in_op % HS_SLICE == 0) return rr_next(r, k, cur);
  return cur;
}

/* ---- switching ---------------------------------------------------------- */
/* Thread context: save the heap binding and go back to the scheduler. */
static void yield_to_main(void) {
  hs_thread *T = &H.t[H.cur];
  T->err = errno;
  T->heap = hak_heap_bind(NULL);
#ifdef HS_ASAN
  __sanitizer_start_switch_fiber(T->state == ST_DONE ? NULL : &T->asan_fake, H.main_bottom, H.main_size);
#endif
#ifdef HS_TSAN
  __tsan_switch_to_fiber(H.tsan_main, 0);
#endif
  swapcontext(&T->ctx, &H.main_ctx);
#ifdef HS_ASAN
  __sanitizer_finish_switch_fiber(T->asan_fake, &H.main_bottom, &H.main_size);
#endif
  errno = T->err;
}

/* Scheduler context: run thread i until it yields. */
static void resume(int i) {
  hs_thread *T = &H.t[i];
  H.cur = i;
  H.last = i;
  T->at_boundary = 0;
  T->started = 1;
  hak_heap_bind(T->heap);
#ifdef HS_ASAN
  __sanitizer_start_switch_fiber(&H.main_fake, T->stack, HS_STACK);
#endif
#ifdef HS_TSAN
  __tsan_switch_to_fiber(T->tsan_fiber, 0);
#endif
  swapcontext(&H.main_ctx, &T->ctx);
#ifdef HS_ASAN
  __sanitizer_finish_switch_fiber(H.main_fake, NULL, NULL);
#endif
  H.cur = -1;
}

static void point(int kind) {
  hs_thread *T = &H.t[H.cur];
  H.st.points++;
  T->points_in_op++;
  if (H.st.points > HS_MAX_POINTS || T->points_in_op > HS_MAX_OP_POINTS) {
    H.stuck = 1;
    H.next = -1;
    yield_to_main();
    return;                      /* not reached: the scheduler gives up */
  }
  int nx = choose(H.cur, kind);
  if (nx == H.cur || nx < 0) return;
  H.st.switches++;
  note_switch(H.cur, nx, kind);
  H.next = nx;
  if (kind == K_BOUNDARY) T->at_boundary = 1;
  yield_to_main();
}

/* The hook of the HAK_SCHED build (src/atomic.h). */
void hak_sched_point(void);
void hak_sched_point(void) {
  if (H.cur < 0 || H.quiet) return;
  point(K_ATOMIC);
}

void hs_boundary(void) {
  if (H.cur < 0 || H.quiet) return;
  H.t[H.cur].points_in_op = 0;
  point(K_BOUNDARY);
  H.t[H.cur].points_in_op = 0;
}

void hs_barrier(void) {
  if (H.cur < 0) return;
  hs_thread *T = &H.t[H.cur];
  T->state = ST_BARRIER;
  T->at_boundary = 1;
  H.next = -1;
  yield_to_main();
  T->points_in_op = 0;
}

int hs_self(void) { return H.cur; }
void hs_quiet_begin(void) { H.quiet++; }
void hs_quiet_end(void) { H.quiet--; }

void hs_set_op(unsigned opno, const char *name) {
  if (H.cur < 0) return;
  H.t[H.cur].opno = opno;
  H.t[H.cur].opname = name;
}

static void trampoline(void) {
  int tid = H.cur;
#ifdef HS_ASAN
  __sanitizer_finish_switch_fiber(NULL, &H.main_bottom, &H.main_size);
#endif
  H.fn(tid);
  H.t[tid].state = ST_DONE;
  H.t[tid].at_boundary = 1;
  H.next = -1;
  yield_to_main();
  abort();                       /* a finished thread is never resumed */
}

void hs_init(unsigned n, hs_entry_fn fn, const uint8_t *sched, size_t len, hs_quiescent_fn quiescent) {
  if (n < 1 || n > HS_MAXT) abort();
  H.n = n;
  H.fn = fn;
  H.quiescent = quiescent;
  H.sched = sched;
  H.len = len;
  H.pos = 0;
  H.cur = -1;
  H.last = -1;
  H.next = -1;
  H.stuck = 0;
  H.quiet = 0;
  H.nring = 0;
  memset(&H.st, 0, sizeof H.st);
#ifdef HS_TSAN
  H.tsan_main = __tsan_get_current_fiber();
#endif
  for (unsigned i = 0; i < n; i++) {
    hs_thread *T = &H.t[i];
    if (T->stack == NULL) {
      T->stack = mmap(NULL, HS_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (T->stack == MAP_FAILED) { perror("hak-sched: mmap stack"); abort(); }
    }
#ifdef HS_ASAN
    __asan_unpoison_memory_region(T->stack, HS_STACK);   /* frames of the previous run never returned */
#endif
    T->state = ST_RUN;
    T->started = 0;
    T->at_boundary = 0;
    T->heap = NULL;
    T->err = 0;
    T->points_in_op = 0;
    T->opno = 0;
    T->opname = NULL;
    T->asan_fake = NULL;
    if (getcontext(&T->ctx) != 0) abort();
    T->ctx.uc_stack.ss_sp = T->stack;
    T->ctx.uc_stack.ss_size = HS_STACK;
    T->ctx.uc_link = NULL;
    makecontext(&T->ctx, trampoline, 0);
#ifdef HS_TSAN
    T->tsan_fiber = __tsan_create_fiber(0);
    char name[8] = { 'T', (char)('0' + i), 0 };
    __tsan_set_fiber_name(T->tsan_fiber, name);
#endif
  }
  if (getenv("HAKSCHED_TRACE")) H.trace = 1;
}

static int all_between_ops(void) {
  for (unsigned i = 0; i < H.n; i++) {
    hs_thread *T = &H.t[i];
    if (T->started && T->state == ST_RUN && !T->at_boundary) return 0;
  }
  return 1;
}

int hs_run(void) {
  int rc = 0;
  for (;;) {
    if (H.stuck) { rc = -1; break; }
    int nx = H.next;
    H.next = -1;
    if (nx < 0 || H.t[nx].state != ST_RUN) {
      int r[HS_MAXT];
      if (runnable(r) == 0) {
        int waiting = 0;
        for (unsigned i = 0; i < H.n; i++) waiting += H.t[i].state == ST_BARRIER;
        if (!waiting) break;                       /* everyone finished */
        if (H.quiescent) H.quiescent(1);
        for (unsigned i = 0; i < H.n; i++)
          if (H.t[i].state == ST_BARRIER) H.t[i].state = ST_RUN;
        continue;
      }
      nx = choose(-1, K_MAIN);
      if (nx != H.last) note_switch(-1, nx, K_MAIN);
    }
    if (H.quiescent && all_between_ops()) H.quiescent(0);
    resume(nx);
  }
#ifdef HS_TSAN
  if (rc == 0)
    for (unsigned i = 0; i < H.n; i++) { __tsan_destroy_fiber(H.t[i].tsan_fiber); H.t[i].tsan_fiber = NULL; }
#endif
  return rc;
}
