model[checker]: hak_check_all: heap 40: segment descriptor 0x7f3231c87480 has a bad magic or kind
