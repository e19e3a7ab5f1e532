model[checker]: hak_heap_check(heap 4) at SYNC: heap 4: slab 0 of segment 0x7effaa000000 has class 255, wrong for the segment kind
