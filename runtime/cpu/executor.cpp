#include "runtime/cpu/executor.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace losscc::rt::cpu {
namespace {

// Pairwise (cascade) summation: error grows with log(blocks), and the tree's
// shape depends only on the number of blocks.
double pairwise_sum(const double* x, size_t count) {
  if (count == 0) return 0;
  if (count == 1) return x[0];
  const size_t half = count / 2;
  return pairwise_sum(x, half) + pairwise_sum(x + half, count - half);
}

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace

double run_blocks(int64_t n, int threads, const std::function<double(int64_t, int64_t)>& block) {
  return run_blocks(n, threads, kBlockSize, kMinParallelElements, block);
}

double run_blocks(int64_t n, int threads, int64_t block_size, int64_t min_parallel,
                  const std::function<double(int64_t, int64_t)>& block) {
  if (n <= 0) return 0;
  const int64_t blocks = (n + block_size - 1) / block_size;
  std::vector<double> sums(static_cast<size_t>(blocks));
  auto run_one = [&](int64_t b) {
    sums[b] = block(b * block_size, std::min(n, (b + 1) * block_size));
  };

  const int64_t workers =
      n < min_parallel ? 1 : std::min<int64_t>(resolve_threads(threads), blocks);
  if (workers == 1) {
    for (int64_t b = 0; b < blocks; ++b) run_one(b);
    return pairwise_sum(sums.data(), sums.size());
  }

  // Blocks are handed out one at a time, so a slow thread delays no one.
  std::atomic<int64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
  auto work = [&] {
    try {
      for (int64_t b; (b = next.fetch_add(1)) < blocks;) run_one(b);
    } catch (...) {
      next.store(blocks);  // the others stop after their current block
      std::lock_guard<std::mutex> lock(error_mu);
      if (!error) error = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(workers - 1));
  for (int64_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return pairwise_sum(sums.data(), sums.size());
}

}  // namespace losscc::rt::cpu
