asan[use-after-poison]: WRITE of size 57344 in hak__realloc
