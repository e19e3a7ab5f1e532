model[checker]: hak_check_all: heap 1: block 0x7f83ace00000 is on a slab free list and on the remote queue at once
