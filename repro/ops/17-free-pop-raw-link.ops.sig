hakmem: corrupted free list in slab 0x7f2d6a200000: link 0xb4262652a893c77b in free block 0x7f2d6a200000 (use after free or overflow)
