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
  for (uintptr_t g = first; g <= last; g++) {   /* make every leaf first: all or nothing */
    if (leaf_for(g, 1) == NULL) return -1;
  }
  void *entry = (void *)((uintptr_t)r | (r->kind == HAK_REGION_TINY ? HAK_SEGMAP_TINY : 0));
  for (uintptr_t g = first; g <= last; g++) {
    hak_region **leaf = leaf_for(g, 0);
    hak_atomic_ptr_store((hak_atomic_ptr *)&leaf[g & (LEAF_ENTRIES - 1)], entry, HAK_RELEASE);
  }
  return 0;
}

void hak__segmap_clear(uintptr_t base, size_t size) {
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
