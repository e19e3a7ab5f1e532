model[calloc-nonzero]: hak_heap_calloc(1048574) = 0x7fa7ae600000: byte 0 is 0xa1
