model[checker]: hak_check_all: heap 38: segment descriptor 0x7f253c921600 has a bad magic or kind
