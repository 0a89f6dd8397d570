#include "models/ltr/scorer.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>


#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "models/module_state.h"

namespace losscc::models::ltr {

nlohmann::json ScorerShape::to_json() const {
  return {{"dims", dims}, {"hidden", hidden}, {"dropout", dropout}, {"batch_norm", batch_norm}};
}

const std::vector<std::string>& scorer_kinds() {
  static const std::vector<std::string> kinds = {"linear", "mlp"};
  return kinds;
}

Scorer::Scorer(const std::string& kind, const ScorerShape& shape) : kind_(kind) {
  if (std::find(scorer_kinds().begin(), scorer_kinds().end(), kind) == scorer_kinds().end())
    throw std::invalid_argument(fmt::format("unknown model '{}' (linear, mlp)", kind));
  if (shape.dims < 1) throw std::invalid_argument("scorer: the data has no features");
  if (shape.dropout < 0 || shape.dropout >= 1) throw std::invalid_argument("scorer: dropout must be in [0, 1)");
  torch::nn::Sequential net;
  int64_t width = shape.dims;
  if (kind == "mlp") {
    for (int64_t h : shape.hidden) {
      if (h < 1) throw std::invalid_argument("scorer: hidden sizes must be >= 1");
      net->push_back(torch::nn::Linear(width, h));
      if (shape.batch_norm) net->push_back(torch::nn::BatchNorm1d(h));
      net->push_back(torch::nn::ReLU());
      if (shape.dropout > 0) net->push_back(torch::nn::Dropout(shape.dropout));
      width = h;
    }
  }
  net->push_back(torch::nn::Linear(width, 1));
  net_ = register_module("net", net);
}

at::Tensor Scorer::forward(const at::Tensor& features) { return net_->forward(features).squeeze(1); }

int64_t Scorer::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

std::shared_ptr<Scorer> make_scorer(const std::string& kind, const ScorerShape& shape, uint64_t seed) {
  // Seeding and drawing the initialisation must not interleave with another
  // worker's (rec_model.h), or the scorer is no longer a function of `seed`.
  const std::unique_lock<std::mutex> lock = detail::lock_global_rng();
  at::manual_seed(seed);
  return std::make_shared<Scorer>(kind, shape);
}

}  // namespace losscc::models::ltr
