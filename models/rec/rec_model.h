// The recommender family's models: a user and an item in, a score and its
// probability out.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/metrics.h"
#include "models/module_state.h"
#include "models/rec/data/dataset.h"

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
  // and buffers (and of the dropout generator's state). Does not disturb
  // LibTorch's global random generator.
  virtual std::shared_ptr<RecModel> clone_model() const = 0;

  // Every SeededDropout of the model draws from `generator` from now on.
  void use_dropout_generator(at::Generator generator) {
    set_dropout_generator(*this, generator);
    dropout_generator_ = std::move(generator);
  }
  const c10::optional<at::Generator>& dropout_generator() const { return dropout_generator_; }

 private:
  c10::optional<at::Generator> dropout_generator_;
};

// The kinds make_model() knows, in the order --help lists them.
const std::vector<std::string>& model_kinds();

// A freshly initialised model: "biasedmf" or "deepmodel" (see biased_mf.h and
// deep_model.h). Seeds LibTorch's global generator with `seed` before creating
// the parameters, so the same arguments give the same model, and gives the
// model its own dropout generator, continuing from where the initialisation
// left the global one (the masks it drew before it had its own), so the same
// arguments also train the same way on any thread. Throws
// std::invalid_argument for an unknown kind.
std::shared_ptr<RecModel> make_model(const std::string& kind, int64_t num_users, int64_t num_items,
                                     uint64_t seed);

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
  if (self.dropout_generator()) copy->use_dropout_generator(self.dropout_generator()->clone());
  return copy;
}

// The model's metrics over every row of `rows`, in batches, without autograd
// and in eval() mode (the model is left there).
Metrics evaluate(RecModel& model, const Interactions& rows, int64_t batch = 8192);

}  // namespace losscc::models
