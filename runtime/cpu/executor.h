// The host executor: a loop over [0, n) cut into fixed blocks, run on a few
// threads, with a result that does not depend on how many.
//
// Determinism comes from the blocks, not the threads: block b always covers
// [b·kBlockSize, min(n, (b+1)·kBlockSize)), each block's partial sum lands in
// its own slot, and the slots are added pairwise in block order. Whichever
// thread ran a block, the same additions happen in the same order.
#pragma once

#include <cstdint>
#include <functional>

namespace losscc::rt::cpu {

inline constexpr int64_t kBlockSize = 8192;
// Below this many elements the loop runs on the calling thread: starting a
// thread (~20-50 µs) costs more than the vectorised work it would take over.
inline constexpr int64_t kMinParallelElements = int64_t{1} << 17;

// Sums block(begin, end) over the blocks of [0, n), using up to `threads`
// threads (0: all hardware threads), the caller included. `block` must be
// safe to call concurrently on disjoint ranges. An exception from any block
// is rethrown on the caller once every thread has stopped.
double run_blocks(int64_t n, int threads, const std::function<double(int64_t, int64_t)>& block);
// The same with other block sizes: `block_size` items per block, and one
// thread unless there are at least `min_parallel` items. Grouped programs
// split queries this way.
double run_blocks(int64_t n, int threads, int64_t block_size, int64_t min_parallel,
                  const std::function<double(int64_t, int64_t)>& block);

}  // namespace losscc::rt::cpu
