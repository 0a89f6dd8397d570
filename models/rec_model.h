// The models a loss is trained and judged with: a user and an item in, a
// score and its probability out.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace losscc::models {

struct ModelOutput {
  at::Tensor prob;   // sigmoid(score), in (0, 1)
  at::Tensor score;  // the raw logit
};

class RecModel : public torch::nn::Module {
 public:
  // users, items: int64 [n] → prob, score: float32 [n].
  virtual ModelOutput forward(const at::Tensor& users, const at::Tensor& items) = 0;
  // A model of the same kind and shape with a deep copy of the parameters
  // and buffers.
  // Does not disturb LibTorch's global random generator.
  virtual std::shared_ptr<RecModel> clone_model() const = 0;
};

// The kinds make_model() knows, in the order --help lists them.
const std::vector<std::string>& model_kinds();

// A freshly initialised model: "biasedmf" or "deepmodel" (see biased_mf.h and
// deep_model.h). Seeds LibTorch's global generator with `seed` before creating
// the parameters, so the same arguments give the same model. Throws
// std::invalid_argument for an unknown kind.
std::shared_ptr<RecModel> make_model(const std::string& kind, int64_t num_users, int64_t num_items,
                                     uint64_t seed);

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

// clone_model() for a Model constructed from `args`: a new instance (whose
// random initialisation is undone for the global generator) with `self`'s
// parameters copied in.
template <class Model, class... Args>
std::shared_ptr<RecModel> clone_with_parameters(const Model& self, Args... args) {
  std::shared_ptr<Model> copy;
  {
    detail::GlobalRngRestorer restore;
    copy = std::make_shared<Model>(args...);
  }
  copy_state(self, *copy);
  return copy;
}

}  // namespace losscc::models
