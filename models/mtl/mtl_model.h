// Multi-task models: categorical fields and numerical features in, one logit
// and one probability per task out. The architectures are those of the
// multi-task recommendation literature as MTReclib builds them (every hidden
// layer Linear → BatchNorm → ReLU → Dropout; towers end in Linear → 1):
//
//   single       one independent network per task (own embeddings, bottom, tower)
//   sharedbottom shared embeddings and bottom MLP, one tower per task
//   esmm         shared embeddings, a bottom and tower per task; task k's
//                probability is the product of the first k+1 towers' sigmoids
//                (ESMM's pCTCVR = pCTR · pCVR, chained for any number of tasks)
//   mmoe         shared experts (bottom MLPs), a softmax gate per task, towers
//   omoe         shared experts and one gate shared by every task, towers
//   ple          progressive layered extraction: per level (one per bottom
//                size) one task-specific expert per task and `experts` shared
//                experts, gated per task (and a shared gate between levels)
//   aitm         shared embeddings, a bottom per task; task k > 0 attends over
//                its own representation and an info-transferred copy of task
//                k-1's (adaptive information transfer), then its tower
//
// The input: an embedding of `embed_dim` per categorical field (one table,
// per-field offsets) and, when there are numerical features, one Linear of
// them to `embed_dim` more, all concatenated.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/module_state.h"

namespace losscc::models::mtl {

struct ModelShape {
  std::vector<int64_t> field_sizes;  // values per categorical field (unknown included)
  int64_t numerical = 0;             // numerical features
  int64_t tasks = 2;
  int64_t embed_dim = 8;
  std::vector<int64_t> bottom = {64, 32};  // shared / expert MLP sizes (PLE: one level each)
  std::vector<int64_t> tower = {32};       // task tower hidden sizes
  int64_t experts = 4;                     // MMoE / OMoE experts; PLE shared experts per level
  double dropout = 0.2;
  nlohmann::json to_json() const;
};

struct MtlOutput {
  at::Tensor prob;   // float32 [n, tasks], in (0, 1)
  at::Tensor score;  // float32 [n, tasks], logit(prob)
};

// Categorical fields → embeddings, numerical features → one more embedding.
class FeatureEmbeddingImpl : public torch::nn::Module {
 public:
  FeatureEmbeddingImpl(const std::vector<int64_t>& field_sizes, int64_t numerical, int64_t dim);
  // categorical int64 [n, fields], numerical float [n, features] → [n, output_dim()]
  at::Tensor forward(const at::Tensor& categorical, const at::Tensor& numerical);
  int64_t output_dim() const { return output_dim_; }
  torch::nn::Embedding table{nullptr};
  torch::nn::Linear numerical_layer{nullptr};  // null without numerical features

 private:
  at::Tensor offsets_;
  int64_t output_dim_ = 0;
};
TORCH_MODULE(FeatureEmbedding);

// Linear → BatchNorm1d → ReLU → SeededDropout (models/module_state.h) per
// size in `hidden`, then (with `output`) a Linear to one unit.
torch::nn::Sequential mlp(int64_t input, const std::vector<int64_t>& hidden, double dropout, bool output);
// The weight of the last Linear of an mlp().
at::Tensor last_linear_weight(torch::nn::Sequential net);

class MtlModel : public torch::nn::Module {
 public:
  virtual MtlOutput forward(const at::Tensor& categorical, const at::Tensor& numerical) = 0;
  // The last parameters every task's loss reaches (GradNorm's W): the last
  // shared layer, or the shared embeddings where nothing else is shared;
  // empty for `single`.
  virtual std::vector<at::Tensor> shared_parameters() = 0;
  // The (first) input embedding, which RMTL's critics start from.
  virtual FeatureEmbedding input_layer() = 0;

  const std::string& kind() const { return kind_; }
  const ModelShape& shape() const { return shape_; }
  // The same kind and shape with a deep copy of the parameters and buffers
  // (and of the dropout generator's state); leaves LibTorch's global
  // generator as it was.
  std::shared_ptr<MtlModel> clone_model() const;
  // Every SeededDropout of the model draws from `generator` from now on.
  void use_dropout_generator(at::Generator generator);

 protected:
  MtlModel(std::string kind, ModelShape shape) : kind_(std::move(kind)), shape_(std::move(shape)) {}

 private:
  std::string kind_;
  ModelShape shape_;
  c10::optional<at::Generator> dropout_generator_;
};

// Probabilities and logits from per-task logits [n, tasks].
MtlOutput from_logits(const at::Tensor& logits);

// The kinds make_mtl_model() knows, in the order --help lists them.
const std::vector<std::string>& mtl_model_kinds();

// A freshly initialised model; seeds LibTorch's global generator with `seed`
// first, so the same arguments give the same model, and gives the model its
// own dropout generator, continuing from where the initialisation left the
// global one (the masks a model seeded so drew before it had its own), so
// that the same arguments also train the same way on any thread. Throws
// std::invalid_argument for an unknown kind or a bad shape.
std::shared_ptr<MtlModel> make_mtl_model(const std::string& kind, const ModelShape& shape, uint64_t seed);

}  // namespace losscc::models::mtl
