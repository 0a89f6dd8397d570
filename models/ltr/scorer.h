// The rankers: a scorer maps each document's feature vector to one real
// score, and a query is ranked by sorting its documents by score.
//
//   linear: s = w·x + b
//   mlp:    Linear → [BatchNorm1d] → ReLU → [Dropout] per hidden layer, then
//           Linear to one output (hidden sizes, batch norm, dropout by flag)
//
// Batch norm normalises over the documents of a training batch (a few whole
// queries); eval() switches it to the running statistics.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace losscc::models::ltr {

struct ScorerShape {
  int64_t dims = 0;                     // input features
  std::vector<int64_t> hidden{64, 32};  // mlp only
  double dropout = 0.0;                 // mlp only
  bool batch_norm = false;              // mlp only
  nlohmann::json to_json() const;
};

class Scorer : public torch::nn::Module {
 public:
  Scorer(const std::string& kind, const ScorerShape& shape);
  // features [n, dims] → scores [n]
  at::Tensor forward(const at::Tensor& features);
  const std::string& kind() const { return kind_; }
  int64_t parameter_count() const;

 private:
  std::string kind_;
  torch::nn::Sequential net_{nullptr};
};

// "linear", "mlp"
const std::vector<std::string>& scorer_kinds();
// A scorer whose initial weights depend only on `seed`. Throws
// std::invalid_argument for an unknown kind or a bad shape.
std::shared_ptr<Scorer> make_scorer(const std::string& kind, const ScorerShape& shape, uint64_t seed);

}  // namespace losscc::models::ltr
