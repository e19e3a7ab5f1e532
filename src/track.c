/* Uninstrumented access to words of free blocks, for sanitizer builds
 * (see track.h): the allocator keeps free blocks poisoned / unaddressable
 * for the tools, and its own link and key words must not be reported. */
#include "internal.h"

#if defined(HAK__ASAN) || defined(HAK__MSAN) || defined(HAK__TSAN) || defined(HAK__VG)
HAK_NO_SANITIZE uintptr_t hak__word_load_raw(const void *block, int i) {
  uintptr_t v;
#ifdef HAK__VG
  VALGRIND_DISABLE_ERROR_REPORTING;
#endif
  v = ((const volatile uintptr_t *)block)[i];
#ifdef HAK__VG
  VALGRIND_ENABLE_ERROR_REPORTING;
#endif
  return v;
}

HAK_NO_SANITIZE void hak__word_store_raw(void *block, int i, uintptr_t v) {
#ifdef HAK__VG
  VALGRIND_DISABLE_ERROR_REPORTING;
#endif
  ((volatile uintptr_t *)block)[i] = v;
#ifdef HAK__VG
  VALGRIND_ENABLE_ERROR_REPORTING;
#endif
}
#else
typedef int hak__track_c_is_empty_in_release;
#endif
