/* realloc_grow MODE ROUNDS SEED [MAX_MIB]
 * Buffers grown by realloc, as vectors, string builders and page caches
 * grow them: each round starts a buffer at 64 KiB and reallocs it up to
 * MAX_MIB (default 256) MiB in steps of
 *   4k    +4 KiB,   64k   +64 KiB,   x1.5  x1.5,
 * writing the first and last byte of every grown region (the new tail is
 * touched once per 4 KiB page, as a program appending data would) and
 * checking a byte of the old prefix after each step.  SEED varies the
 * byte pattern only.  Reports reallocs per second (issue 19: hakmem mapped,
 * copied and unmapped at every step). */
#include "bench_common.h"

static size_t step(const char *mode, size_t n)
{
    if (strcmp(mode, "4k") == 0) return n + 4096;
    if (strcmp(mode, "64k") == 0) return n + 65536;
    return n + n / 2;
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "4k") && strcmp(argv[1], "64k") && strcmp(argv[1], "x1.5"))) {
        fprintf(stderr, "usage: realloc_grow 4k|64k|x1.5 ROUNDS SEED [MAX_MIB]\n");
        return 1;
    }
    const char *mode = argv[1];
    long rounds = arg_l(argc, argv, 2, 1);
    uint64_t seed = (uint64_t)arg_l(argc, argv, 3, 1);
    size_t max = (size_t)arg_l(argc, argv, 4, 256) << 20;
    if (rounds < 1 || max < (128u << 10)) {
        fprintf(stderr, "realloc_grow: bad arguments\n");
        return 1;
    }
    bench_every = 1;
    long reallocs = 0;
    double t0 = now_s();
    for (long r = 0; r < rounds; r++) {
        unsigned char v = (unsigned char)(seed + (uint64_t)r);
        size_t n = 64u << 10;
        unsigned char *p = xmalloc(n);
        for (size_t o = 0; o < n; o += 4096) p[o] = (unsigned char)(v + (o >> 12));
        p[n - 1] = v;   /* 64 KiB - 1: not a page start */
        while (n < max) {
            size_t m = step(mode, n);
            if (m > max) m = max;
            unsigned char *q = realloc(p, m);
            if (!q) { fprintf(stderr, "realloc_grow: realloc(%zu) failed\n", m); return 3; }
            size_t probe = (n / 2) & ~(size_t)4095;   /* a page start written earlier */
            if (q[probe] != (unsigned char)(v + (probe >> 12)) || (((n - 1) & 4095) != 0 && q[n - 1] != v)) {
                fprintf(stderr, "bench realloc_grow: CORRUPTION realloc %zu -> %zu lost the prefix\n", n, m);
                return 2;
            }
            for (size_t o = (n + 4095) & ~(size_t)4095; o < m; o += 4096) q[o] = (unsigned char)(v + (o >> 12));
            if (((m - 1) & 4095) != 0) q[m - 1] = v;   /* never over a page marker */
            p = q;
            n = m;
            reallocs++;
        }
        free(p);
    }
    double el = now_s() - t0;
    char extra[128];
    snprintf(extra, sizeof extra, "mode=%s rounds=%ld reallocs=%ld max_mib=%zu seconds=%.3f", mode, rounds,
             reallocs, max >> 20, el);
    result("realloc_grow", "reallocs_per_s", (double)reallocs / el, "higher", extra);
    return 0;
}
