asan[SEGV]: in __memcpy_avx512_unaligned_erms
