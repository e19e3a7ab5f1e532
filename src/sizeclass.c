/* Size classes.
 *
 * Every class size is a multiple of 16, so every block of a slab that
 * starts on a 64 KiB (tiny) or 256 KiB (mid) boundary is 16-byte aligned.
 *   tiny  16..128 in steps of 16 (8 classes): below 64 B the step is the
 *         alignment itself, so waste is at most 15 bytes;
 *         then 4 classes per power of two up to 1024 (12 classes).
 *   mid   4 classes per power of two from 1280 to 65536 (24 classes).
 * With 4 classes per doubling, a request just above class size c lands in
 * c + c/4 (or c + c/5, c/6, c/7 further up the doubling), so the waste is
 * below 25% of the request for every size above 64 B: the worst case is
 * just above a power of two, e.g. 129 -> 160 (24.0%), 1025 -> 1280 (24.9%).
 * 1024 is a class of its own so that the common 1 KiB request takes the
 * tiny fast path (HAKMEM.md: the old design lost it to an in-band header).
 * The property suite checks monotonicity, fit and the waste bound. */
#include "internal.h"

#define MID(e, q) ((1u << (e)) + (q + 1u) * (1u << ((e) - 2)))
#define MIDS(e) MID(e, 0), MID(e, 1), MID(e, 2), MID(e, 3)

const uint32_t hak__class_size[HAK_NCLASS] = {
  16, 32, 48, 64, 80, 96, 112, 128,
  160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024,
  MIDS(10), MIDS(11), MIDS(12), MIDS(13), MIDS(14), MIDS(15),
};

/* tiny_class[(n + 15) / 16] for n <= 1024: the smallest class that fits. */
const uint8_t hak__tiny_class[(HAK_TINY_MAX >> 4) + 1] = {
  0,                                   /* 0 -> 16 */
  0, 1, 2, 3, 4, 5, 6, 7,              /* 16 .. 128 */
  8, 8, 9, 9, 10, 10, 11, 11,          /* 144..256: 160 192 224 256 */
  12, 12, 12, 12, 13, 13, 13, 13,      /* 272..384: 320 384 */
  14, 14, 14, 14, 15, 15, 15, 15,      /* 400..512: 448 512 */
  16, 16, 16, 16, 16, 16, 16, 16,      /* 528..640 */
  17, 17, 17, 17, 17, 17, 17, 17,      /* 656..768 */
  18, 18, 18, 18, 18, 18, 18, 18,      /* 784..896 */
  19, 19, 19, 19, 19, 19, 19, 19,      /* 912..1024 */
};

/* Thread-cache capacity bound per class: about 1 MiB of blocks, clamped to
 * [HAK_CACHE_MIN, HAK_CACHE_MAX] slots. */
#define CAP(sz) ((uint16_t)((HAK_CACHE_CLASS_BYTES / (sz)) > HAK_CACHE_MAX ? HAK_CACHE_MAX \
               : (HAK_CACHE_CLASS_BYTES / (sz)) < HAK_CACHE_MIN ? HAK_CACHE_MIN \
               : (HAK_CACHE_CLASS_BYTES / (sz))))
#define MIDCAPS(e) CAP(MID(e, 0)), CAP(MID(e, 1)), CAP(MID(e, 2)), CAP(MID(e, 3))
const uint16_t hak__class_cap_max[HAK_NCLASS] = {
  CAP(16), CAP(32), CAP(48), CAP(64), CAP(80), CAP(96), CAP(112), CAP(128),
  CAP(160), CAP(192), CAP(224), CAP(256), CAP(320), CAP(384), CAP(448), CAP(512),
  CAP(640), CAP(768), CAP(896), CAP(1024),
  MIDCAPS(10), MIDCAPS(11), MIDCAPS(12), MIDCAPS(13), MIDCAPS(14), MIDCAPS(15),
};

_Static_assert(sizeof(hak__class_size) / sizeof(hak__class_size[0]) == HAK_NCLASS, "class table");
_Static_assert(HAK_MID_MAX == (1u << 16), "mid classes end at 64 KiB");

HAK_EXPORT int hak_class_count(void) { return HAK_NCLASS; }

HAK_EXPORT int hak_size_class(size_t size) {
  return size > HAK_MID_MAX ? -1 : (int)hak__size_class(size);
}

HAK_EXPORT size_t hak_class_size(int cls) {
  return (cls < 0 || cls >= HAK_NCLASS) ? 0 : hak__class_size[cls];
}

HAK_EXPORT int hak_class_tier(int cls) {
  if (cls < 0 || cls >= HAK_NCLASS) return HAK_TIER_NONE;
  return cls < HAK_TINY_CLASSES ? HAK_TIER_TINY : HAK_TIER_MID;
}
