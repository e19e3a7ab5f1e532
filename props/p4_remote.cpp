// Property 4: the remote-free queue as a sequential model of concurrency.
//
// Producers (heaps 1..NHEAPS-1, and the owner's peers in turn) push blocks
// they do not own through hak_heap_free; owners pop by allocating (few size
// classes, so drained blocks are handed out again) and drain explicitly; an
// arbitrary interleaving of those is one command sequence.  After every
// command (heapmodel.cpp verify): a pushed block is on its owner's queue
// (REMOTE) until an operation done as the owner takes it off; nothing enters
// a queue except by a push (nothing duplicated/resurrected); nothing lost;
// nothing live in a list; hak_stats.remote_frees_drained grows by exactly the
// number of blocks that left the queues; after a drain, and after an owner
// refill (the owner drains before it pops its free lists), the queue is empty.
#include "heapmodel.h"

PROP("remote-queue") {
  return hm::check_model("p4 remote queue: pushes from several producers interleaved with owner pops/drains",
                         hm::mix_remote, hm::REMOTE);
}
