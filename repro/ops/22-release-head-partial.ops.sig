model[checker]: hak_check_all: heap 1: partial list of class 19 links to a slab not of this heap
