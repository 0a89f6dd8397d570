// What the three model families share about LibTorch modules: copying one
// module's state into another, the lock on LibTorch's global generator that
// seeded initialisations take, and dropout that draws from a generator of the
// model's own.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <mutex>
#include <utility>

namespace losscc::models {

// Copies every parameter and buffer (batch-norm statistics) of `from` into
// the one of the same name of `to`, in place (so optimisers holding `to`'s
// parameters keep working). Throws std::invalid_argument when the names or
// shapes differ.
void copy_state(const torch::nn::Module& from, torch::nn::Module& to);

// Dropout whose masks come from a generator the model owns
// (set_dropout_generator), so that models trained on several threads at once
// do not draw from one another's stream; LibTorch's global generator until
// one is set. The same masks as torch::nn::Dropout given the same generator
// state.
class SeededDropoutImpl : public torch::nn::Module {
 public:
  explicit SeededDropoutImpl(double p) : p_(p) {}
  at::Tensor forward(const at::Tensor& x);
  void set_generator(at::Generator generator) { generator_ = std::move(generator); }

 private:
  double p_;
  c10::optional<at::Generator> generator_;
};
TORCH_MODULE(SeededDropout);

// Every SeededDropout inside `module` draws from `generator` from now on.
void set_dropout_generator(torch::nn::Module& module, const at::Generator& generator);

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
