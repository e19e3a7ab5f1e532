model[checker]: hak_check_all: heap 2: thread cache of class 37: count 56 cap 64 (max 42)
