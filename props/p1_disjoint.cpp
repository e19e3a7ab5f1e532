// Property 1: free-list / remote-queue disjointness.
//
// A state machine of NHEAPS heaps (heapmodel.h) with alloc, free-local,
// free-remote, drain, realloc, abandon/adopt, collect (segment release) and
// trim.  After every command: every block of every slab is reported exactly
// once by hak_heap_visit, in one of live / cached / free / remote / uncarved;
// no two blocks overlap; each slab's blocks number exactly its capacity;
// the model's live set equals the LIVE blocks of each heap;
// hak_heap_check() == 0 for every heap and hak_check_all() == 0; the
// list walker (hak_block_state) agrees with the visitor on touched blocks;
// live contents are intact; drain/collect/abandon leave no remote (cached)
// block behind; a command that refilled heap h's cache from its slab free
// lists leaves h's remote queue empty (the owner drains before it pops).
#include "heapmodel.h"

PROP("disjoint") {
  return hm::check_model("p1 disjoint: every slab block in exactly one state, model live set == LIVE set",
                         hm::mix_general);
}
