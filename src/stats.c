/* Counters of slow-path events (never touched on a fast path) and the
 * HAKMEM_STATS=1 report printed at exit. */
#include <string.h>
#include "internal.h"

hak_counters hak__ctr;

#define LOAD(f) hak_atomic_u64_load(&hak__ctr.f, HAK_RELAXED)

HAK_EXPORT void hak_stats_get(hak_stats *out) {
  memset(out, 0, sizeof *out);
  out->os_map = LOAD(os_map);
  out->os_unmap = LOAD(os_unmap);
  out->os_commit = LOAD(os_commit);
  out->os_decommit = LOAD(os_decommit);
  out->os_madvise = LOAD(os_madvise);
  out->mapped_bytes = LOAD(mapped);
  out->peak_mapped_bytes = LOAD(peak_mapped);
  out->segments = LOAD(segments);
  out->peak_segments = LOAD(peak_segments);
  out->segment_cache = LOAD(segment_cache);
  out->large_live = LOAD(large_live);
  out->large_allocs = LOAD(large_allocs);
  out->bigcache_hits = LOAD(bigcache_hits);
  out->bigcache_misses = LOAD(bigcache_misses);
  out->bigcache_bytes = LOAD(bigcache_bytes);
  out->heaps = LOAD(heaps);
  out->heaps_abandoned = LOAD(heaps_abandoned);
  out->tiny_refills = LOAD(tiny_refills);
  out->mid_refills = LOAD(mid_refills);
  out->remote_frees_drained = LOAD(remote_drained);
}

/* Peak resident set from /proc, read without allocating. */
static unsigned long peak_rss_kib(void) {
  unsigned long k = 0;
  return hak__read_proc_status_vmhwm(&k) == 0 ? k : 0;
}

HAK_EXPORT void hak_stats_print(int fd) {
  hak_stats s;
  hak_stats_get(&s);
  char buf[1024];
  int n = hak__fmt(buf, sizeof buf,
      "hakmem stats: segments %lu (peak %lu, cached %lu), mapped %lu KiB (peak %lu KiB), "
      "peak rss %lu KiB\n"
      "hakmem stats: os calls: mmap %lu, munmap %lu, madvise %lu (populate %lu, decommit %lu)\n"
      "hakmem stats: tiny refills %lu, mid refills %lu, large maps %lu (mapped now %lu), "
      "bigcache hits %lu misses %lu (%lu KiB kept), remote frees drained %lu, heaps %lu (abandoned %lu)\n",
      (unsigned long)s.segments, (unsigned long)s.peak_segments, (unsigned long)s.segment_cache,
      (unsigned long)(s.mapped_bytes >> 10), (unsigned long)(s.peak_mapped_bytes >> 10), peak_rss_kib(),
      (unsigned long)s.os_map, (unsigned long)s.os_unmap, (unsigned long)s.os_madvise,
      (unsigned long)s.os_commit, (unsigned long)s.os_decommit, (unsigned long)s.tiny_refills, (unsigned long)s.mid_refills,
      (unsigned long)s.large_allocs, (unsigned long)s.large_live, (unsigned long)s.bigcache_hits,
      (unsigned long)s.bigcache_misses, (unsigned long)(s.bigcache_bytes >> 10),
      (unsigned long)s.remote_frees_drained, (unsigned long)s.heaps, (unsigned long)s.heaps_abandoned);
  if (n > 0) hak__write_all(fd, buf, (size_t)n);
}

static int report_fd = -1;

void hak__stats_init(void) {
  if (hak__opt->stats) report_fd = hak__os_dup_stderr();
}

__attribute__((destructor)) static void stats_at_exit(void) {
  if (hak_atomic_u32_load(&hak__init_state, HAK_ACQUIRE) >= 2 && hak__opt->stats)
    hak_stats_print(report_fd >= 0 ? report_fd : 2);
}
