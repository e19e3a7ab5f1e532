asan[use-after-poison]: WRITE of size 337 in hak__calloc
