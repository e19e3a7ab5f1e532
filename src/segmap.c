/* The address-space map: for every 2 MiB granule of the 48-bit address
 * space, the descriptor of the hakmem region covering it (tagged with
 * HAK_SEGMAP_TINY for a tiny segment, see internal.h), or NULL.
 *
 * Two levels so the map costs nothing for address space hakmem never
 * touched: a static top array of 2^14 leaf pointers (128 KiB of .bss) and
 * leaves of 2^13 descriptor pointers (64 KiB, mapped on demand, never
 * returned).  A lookup is two dependent loads plus a bounds check against
 * the descriptor, and never reads the memory being classified.
 *
 * Writers are the slow paths that create and release regions; readers are
 * free() and friends on pointers the program obtained after the region was
 * registered, so the handoff of the pointer orders the write before the
 * read.  Leaves are installed with a CAS because two threads may register
 * regions in the same 16 GiB span at once. */
#include <errno.h>
#include "internal.h"

hak_region **hak__segmap[1u << HAK_SEGMAP_TOP_BITS];

#define LEAF_ENTRIES (1u << HAK_SEGMAP_LEAF_BITS)
#define LEAF_BYTES   (LEAF_ENTRIES * sizeof(hak_region *))

static hak_region **leaf_for(uintptr_t granule, int create) {
  size_t top = (granule >> HAK_SEGMAP_LEAF_BITS) & ((1u << HAK_SEGMAP_TOP_BITS) - 1);
  hak_atomic_ptr *slot = (hak_atomic_ptr *)&hak__segmap[top];
  hak_region **leaf = hak_atomic_ptr_load(slot, HAK_ACQUIRE);
  if (leaf != NULL || !create) return leaf;
  hak_region **fresh = hak__os_map(LEAF_BYTES, HAK_PAGE);
  if (fresh == NULL) return NULL;
  void *expected = NULL;
  if (hak_atomic_ptr_cas(slot, &expected, fresh, HAK_ACQ_REL, HAK_ACQUIRE)) return fresh;
  while (expected == NULL) {   /* weak CAS may fail spuriously */
    if (hak_atomic_ptr_cas(slot, &expected, fresh, HAK_ACQ_REL, HAK_ACQUIRE)) return fresh;
  }
  hak__os_unmap(fresh, LEAF_BYTES);
  return expected;
}

/* The checker walks every entry of the map (check.c), and a leaf has 8192
 * of them: scanned whole, the walk was a tenth of a fuzzing run.  So the
 * map keeps an index of where it ever had entries: one bit per GROUP of 64
 * granules (128 MiB) set before the group's first entry is stored, and a
 * summary bit per 64 groups.  Bits are never cleared (a freed region's
 * group is walked and found empty; fuzz builds prune empty groups between
 * inputs), so the index only bounds the walk and cannot hide an entry.
 * Written on the slow path that registers regions. */
#define GROUP_SHIFT 6   /* check.c's map_next walks a group as 64 entries of one leaf */
#define NGROUPS ((uintptr_t)1 << (HAK_SEGMAP_TOP_BITS + HAK_SEGMAP_LEAF_BITS - GROUP_SHIFT))
static hak_atomic_u64 group_used[NGROUPS / 64];
static hak_atomic_u64 summary_used[NGROUPS / 64 / 64];
static hak_atomic_u64 groups_end;   /* one past the highest group ever used: where the walk stops */

static void note_group(uintptr_t granule) {
  uintptr_t g = granule >> GROUP_SHIFT;
  uint64_t bit = (uint64_t)1 << (g & 63);
  if (hak_atomic_u64_load(&group_used[g >> 6], HAK_RELAXED) & bit) return;
  hak_atomic_u64_max(&groups_end, g + 1);
  hak_atomic_u64_or(&group_used[g >> 6], bit, HAK_RELAXED);
  hak_atomic_u64_or(&summary_used[g >> 12], (uint64_t)1 << ((g >> 6) & 63), HAK_RELAXED);
}

/* The first granule index >= granule in a group that ever had an entry,
 * or HAK_SEGMAP_GRANULES when there is none. */
uintptr_t hak__segmap_next_used(uintptr_t granule) {
  uintptr_t g = granule >> GROUP_SHIFT, end = (uintptr_t)hak_atomic_u64_load(&groups_end, HAK_RELAXED);
  while (g < end) {
    uint64_t w = hak_atomic_u64_load(&group_used[g >> 6], HAK_RELAXED) >> (g & 63);
    if (w != 0) {
      uintptr_t hit = g + (uintptr_t)__builtin_ctzll(w);
      return hit == granule >> GROUP_SHIFT ? granule : hit << GROUP_SHIFT;
    }
    g = (g | 63) + 1;   /* the next word of groups: find one whose summary bit is set */
    uintptr_t word = g >> 6;
    while (word < (end + 63) / 64) {
      uint64_t s = hak_atomic_u64_load(&summary_used[word >> 6], HAK_RELAXED) >> (word & 63);
      if (s != 0) { word += (uintptr_t)__builtin_ctzll(s); break; }
      word = (word | 63) + 1;
    }
    g = word << 6;
  }
  return HAK_SEGMAP_GRANULES;
}

#ifdef HAK_FUZZ
/* Fuzz builds, between inputs (quiescent, like hak_debug_reset): groups
 * left empty lose their bit, so the walk does not keep visiting what one
 * input (or the warm-up's 2048 large blocks: 4 GiB, 36 groups) once
 * mapped and gave back. */
void hak__segmap_fuzz_prune(void) {
  for (uintptr_t g = hak__segmap_next_used(0); g < HAK_SEGMAP_GRANULES; g = hak__segmap_next_used(g)) {
    uintptr_t grp = g >> GROUP_SHIFT, first = grp << GROUP_SHIFT;
    hak_region **leaf = hak_atomic_ptr_peek((hak_atomic_ptr *)&hak__segmap[first >> HAK_SEGMAP_LEAF_BITS]);
    int empty = 1;
    for (uintptr_t i = 0; leaf != NULL && i < ((uintptr_t)1 << GROUP_SHIFT) && empty; i++)
      empty = hak_atomic_ptr_peek((hak_atomic_ptr *)&leaf[(first + i) & (LEAF_ENTRIES - 1)]) == NULL;
    if (empty) {
      uint64_t w = hak_atomic_u64_load(&group_used[grp >> 6], HAK_RELAXED) & ~((uint64_t)1 << (grp & 63));
      hak_atomic_u64_store(&group_used[grp >> 6], w, HAK_RELAXED);
      if (w == 0) {
        uint64_t sw = hak_atomic_u64_load(&summary_used[grp >> 12], HAK_RELAXED) & ~((uint64_t)1 << ((grp >> 6) & 63));
        hak_atomic_u64_store(&summary_used[grp >> 12], sw, HAK_RELAXED);
      }
    }
    g = first + ((uintptr_t)1 << GROUP_SHIFT);
  }
}
#endif

int hak__segmap_set(uintptr_t base, size_t size, hak_region *r) {
  if (size == 0 || base >= HAK_SEGMAP_LIMIT || size > HAK_SEGMAP_LIMIT - base) {
    if (HAK_CHECK_LEVEL >= 1)
      hak__fatal("hakmem: region %p of %lu bytes lies outside the address map (48 bits)", (void *)base,
                 (unsigned long)size);
    errno = ENOMEM;
    return -1;
  }
  uintptr_t first = base >> HAK_GRANULE_SHIFT;
  uintptr_t last = (base + size - 1) >> HAK_GRANULE_SHIFT;
  hak__changed_global();
  for (uintptr_t g = first; g <= last; g++) {   /* make every leaf first: all or nothing */
    if (leaf_for(g, 1) == NULL) return -1;
  }
  for (uintptr_t g = first; g <= last; g = (g | ((1u << GROUP_SHIFT) - 1)) + 1) note_group(g);
  void *entry = (void *)((uintptr_t)r | (r->kind == HAK_REGION_TINY ? HAK_SEGMAP_TINY : 0));
  for (uintptr_t g = first; g <= last; g++) {
    hak_region **leaf = leaf_for(g, 0);
    hak_atomic_ptr_store((hak_atomic_ptr *)&leaf[g & (LEAF_ENTRIES - 1)], entry, HAK_RELEASE);
  }
  return 0;
}

void hak__segmap_clear(uintptr_t base, size_t size) {
  hak__changed_global();
  uintptr_t first = base >> HAK_GRANULE_SHIFT;
  uintptr_t last = (base + size - 1) >> HAK_GRANULE_SHIFT;
  for (uintptr_t g = first; g <= last; g++) {
    hak_region **leaf = leaf_for(g, 0);
    hak_assert(leaf != NULL);
    hak_atomic_ptr_store((hak_atomic_ptr *)&leaf[g & (LEAF_ENTRIES - 1)], NULL, HAK_RELEASE);
  }
  /* Leaf pages whose every entry was this region's: give their memory back. */
  const uintptr_t per_page = HAK_PAGE / sizeof(hak_region *);
  for (uintptr_t g = (first + per_page - 1) & ~(per_page - 1); g + per_page - 1 <= last; g += per_page) {
    hak_region **leaf = leaf_for(g, 0);
    (void)hak__os_decommit(&leaf[g & (LEAF_ENTRIES - 1)], HAK_PAGE);
  }
}
