model[visit]: after join: adopted heap 4 holds 1 LIVE blocks (first 0x7f7075800000, cls 2) though the program freed every block (lost frees)
