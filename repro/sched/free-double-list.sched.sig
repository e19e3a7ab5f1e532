hakmem: corrupted thread cache: 0x7f2d02400000 is not a block of heap 2
