model[usable]: hak_heap_malloc(4096) = 0x7f132ac00000: usable size 2560 < request
