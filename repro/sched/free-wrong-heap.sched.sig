hakmem: corrupted thread cache: 0x7f9cd3c00000 is not a block of heap 2
