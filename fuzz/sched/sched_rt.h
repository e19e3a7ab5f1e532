/* fuzz/sched/sched_rt.h: the controlled scheduler behind the HAK_SCHED
 * build of the core.
 *
 * Logical threads are coroutines (ucontext) on ONE OS thread.  The core
 * compiled with -DHAK_SCHED calls hak_sched_point() before every atomic
 * operation (src/atomic.h); there, and at every operation boundary of a
 * script (hs_boundary), the scheduler may switch to another logical thread.
 * Which one is read from a byte stream (the schedule): at each point where
 * more than one thread is runnable, one byte b picks runnable[b % n]
 * (threads in id order).  When the stream is exhausted the policy is
 * deterministic: stay on the running thread, switch round-robin at each
 * operation boundary and after every 64 points inside one operation (so a
 * thread spinning on a lock held by a paused thread cannot starve it).
 *
 * Every logical thread has its own heap binding and its own errno (both
 * thread-local for real threads): on every switch the scheduler saves the
 * outgoing thread's binding with hak_heap_bind() (the TLS pointer every path
 * goes through) and its errno, and installs the incoming one's.
 *
 * Under ASan every switch is announced with __sanitizer_start_switch_fiber /
 * __sanitizer_finish_switch_fiber (a fiber's first entry included); under
 * TSan every logical thread is a TSan fiber (__tsan_switch_to_fiber; the
 * switch synchronises, so the harness's own bookkeeping is not reported).
 *
 * Same input => same sequence of decisions => same interleaving: nothing
 * here depends on time, addresses or the environment. */
#ifndef HAK_SCHED_RT_H
#define HAK_SCHED_RT_H

#include <stddef.h>
#include <stdint.h>

#define HS_MAXT 4

typedef void (*hs_entry_fn)(int tid);
/* Called in the scheduler's (main) context: every thread is between
 * operations (at a boundary, at a barrier, or done).  at_barrier: all
 * unfinished threads wait at the barrier (hs_barrier), which is released
 * when the hook returns. */
typedef void (*hs_quiescent_fn)(int at_barrier);

/* Set up n logical threads running fn(tid) under the given schedule. */
void hs_init(unsigned n, hs_entry_fn fn, const uint8_t *sched, size_t len, hs_quiescent_fn quiescent);
/* Run until every thread has finished.  Returns 0, or -1 when no thread can
 * make progress (deadlock/livelock: HS_MAX_POINTS points without finishing). */
int  hs_run(void);

/* Thread context. */
int  hs_self(void);              /* current logical thread, -1 in the scheduler */
void hs_boundary(void);          /* between two operations: a scheduling point */
void hs_barrier(void);           /* wait until every unfinished thread is here */
void hs_set_op(unsigned opno, const char *name);   /* for reports: what the thread is doing */
void hs_quiet_begin(void);       /* no scheduling points until hs_quiet_end (checker, harness) */
void hs_quiet_end(void);

/* Statistics and reports. */
typedef struct hs_stats {
  unsigned long points;          /* scheduling points reached */
  unsigned long decisions;       /* points with a choice (more than one runnable thread) */
  unsigned long switches;        /* context switches between logical threads */
  unsigned long bytes_used;      /* schedule bytes consumed */
} hs_stats;
void hs_get_stats(hs_stats *out);
/* Print the last decisions (ring) and each thread's state to fd, without
 * allocating (safe from a signal handler). */
void hs_dump(int fd);
void hs_dump_once(int fd);      /* the same, at most once per process */
/* HAKSCHED_TRACE=1 (or hs_trace(1)): print every switch to stderr. */
void hs_trace(int on);

#endif
