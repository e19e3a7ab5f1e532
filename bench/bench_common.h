/* Helpers shared by the bench/ workloads: timing, a fast RNG, RSS, the
 * allocator actually mapped into the process, block tagging and the one
 * RESULT line each workload prints.  Workloads use plain malloc/free only;
 * the allocator under test is chosen by LD_PRELOAD.
 *
 * RESULT line (one per run, parsed by bench/report.py):
 *   RESULT bench=NAME metric=M value=V better=higher|lower maxrss_kb=K alloc=A [key=val ...]
 * Exit codes: 0 ok, 1 usage, 2 heap corruption detected, 3 allocation failed. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64 seeding a xorshift64*: cheap, deterministic per seed. */
typedef struct { uint64_t s; } rng_t;
static inline void rng_seed(rng_t *r, uint64_t seed)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    r->s = (z ^ (z >> 31)) | 1;
}
static inline uint64_t rng_next(rng_t *r)
{
    uint64_t x = r->s;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dull;
}
/* uniform in [lo, hi] */
static inline size_t rng_range(rng_t *r, size_t lo, size_t hi)
{
    return lo + (size_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* Keep the compiler from eliding a malloc/free pair or the stores into it. */
static inline void escape(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

static inline long maxrss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static inline long cur_rss_kb(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
        fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Which allocator is really mapped: guards against an LD_PRELOAD that
 * ld.so ignored (it only warns) and a report that silently measured glibc. */
static inline const char *mapped_allocator(void)
{
    static char name[32];
    char line[512];
    strcpy(name, "glibc");
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return "unknown";
    static const char *const libs[][2] = {
        {"libhakmem", "hakmem"}, {"libmimalloc", "mimalloc"},
        {"libjemalloc", "jemalloc"}, {"libtcmalloc", "tcmalloc"},
    };
    while (fgets(line, sizeof line, f)) {
        for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++)
            if (strstr(line, libs[i][0])) { strcpy(name, libs[i][1]); goto out; }
    }
out:
    fclose(f);
    return name;
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "bench: malloc(%zu) returned NULL\n", n);
        exit(3);
    }
    return p;
}

/* Tag a block: first 8 bytes and last byte derive from a key, checked before
 * free.  A mismatch means the allocator handed out overlapping blocks or wrote
 * into a live block (HAKMEM bug class 1): fail loudly, never time it.
 * Reading every block before free would add a cache miss per free to every
 * allocator and flatten the comparison (it was 40% of larson's time), so a
 * timed run tags and checks one block in BENCH_CHECK (default 16), picked by
 * a hash of its address; the others get one byte written, like classic
 * larson.  BENCH_CHECK=1 (used by bench-smoke) checks every block. */
static unsigned bench_every = 16;
__attribute__((constructor)) static void bench_check_init(void)
{
    const char *e = getenv("BENCH_CHECK");
    if (e && atoi(e) > 0) bench_every = (unsigned)atoi(e);
}
static inline int tag_sampled(const void *p)
{
    return bench_every <= 1 ||
           ((((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull) >> 40) % bench_every == 0;
}
static inline uint64_t tag_of(uint64_t key) { return key * 0x9e3779b97f4a7c15ull ^ 0x68616b6dull; }
static inline void tag_set(void *p, size_t n, uint64_t key)
{
    unsigned char *c = p;
    uint64_t t = tag_of(key);
    if (!tag_sampled(p)) { c[0] = (unsigned char)t; return; }
    if (n >= 8) memcpy(c, &t, 8); else c[0] = (unsigned char)t;
    c[n - 1] = (unsigned char)(t >> 56);
}
static inline void tag_check(const void *p, size_t n, uint64_t key, const char *who)
{
    const unsigned char *c = p;
    uint64_t t = tag_of(key), got = 0;
    int ok;
    if (!tag_sampled(p)) return;
    if (n >= 8) { memcpy(&got, c, 8); ok = got == t; }
    else ok = c[0] == (unsigned char)t;
    ok = ok && c[n - 1] == (unsigned char)(t >> 56);
    if (!ok) {
        fprintf(stderr, "bench %s: CORRUPTION block %p size %zu key %llu: head 0x%016llx want 0x%016llx\n",
                who, (void *)p, n, (unsigned long long)key, (unsigned long long)got,
                (unsigned long long)t);
        exit(2);
    }
}

static inline void result(const char *bench, const char *metric, double value,
                          const char *better, const char *extra)
{
    printf("RESULT bench=%s metric=%s value=%.6g better=%s maxrss_kb=%ld alloc=%s check=1/%u%s%s\n",
           bench, metric, value, better, maxrss_kb(), mapped_allocator(), bench_every,
           extra && *extra ? " " : "", extra ? extra : "");
    fflush(stdout);
}

static inline long arg_l(int argc, char **argv, int i, long def)
{
    return i < argc ? strtol(argv[i], NULL, 0) : def;
}
static inline double arg_d(int argc, char **argv, int i, double def)
{
    return i < argc ? strtod(argv[i], NULL) : def;
}

#endif
