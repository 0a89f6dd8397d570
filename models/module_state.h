// What the three model families share about LibTorch modules: copying one
// module's state into another, and the lock on LibTorch's global generator
// that seeded initialisations take.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <mutex>

namespace losscc::models {

// Copies every parameter and buffer (batch-norm statistics) of `from` into
// the one of the same name of `to`, in place (so optimisers holding `to`'s
// parameters keep working). Throws std::invalid_argument when the names or
// shapes differ.
void copy_state(const torch::nn::Module& from, torch::nn::Module& to);

namespace detail {
// LibTorch's global CPU generator is one per process: seeding it and drawing
// a model's initialisation from it must not interleave with another thread
// doing the same (the search trains candidates on several threads), or the
// initialisation is no longer a function of the seed. Held while seeding
// and initialising.
std::unique_lock<std::mutex> lock_global_rng();

// Restores LibTorch's global CPU generator on scope exit, so a throwaway
// initialisation leaves no trace in later random draws. Holds
// lock_global_rng() for its lifetime.
class GlobalRngRestorer {
 public:
  GlobalRngRestorer();
  ~GlobalRngRestorer();
  GlobalRngRestorer(const GlobalRngRestorer&) = delete;
  GlobalRngRestorer& operator=(const GlobalRngRestorer&) = delete;

 private:
  std::unique_lock<std::mutex> lock_;  // first: taken before the state is read, released after it is restored
  at::Tensor state_;
};
}  // namespace detail

}  // namespace losscc::models
