// `mmoe` (a softmax gate per task) and `omoe` (one gate for all tasks): shared
// expert MLPs mixed by gates over the input, then a tower per task.
#include <torch/nn/modules/linear.h>

#include "models/mtl/architectures.h"

namespace losscc::models::mtl {

namespace {

class MixtureOfExperts : public MtlModel {
 public:
  MixtureOfExperts(const ModelShape& s, bool gate_per_task) : MtlModel(gate_per_task ? "mmoe" : "omoe", s) {
    input_ = register_module("input", FeatureEmbedding(s.field_sizes, s.numerical, s.embed_dim));
    const int64_t in = input_->output_dim();
    for (int64_t e = 0; e < s.experts; ++e)
      experts_.push_back(register_module("expert" + std::to_string(e), mlp(in, s.bottom, s.dropout, false)));
    for (int64_t g = 0; g < (gate_per_task ? s.tasks : 1); ++g)
      gates_.push_back(register_module("gate" + std::to_string(g), torch::nn::Linear(in, s.experts)));
    for (int64_t k = 0; k < s.tasks; ++k)
      towers_.push_back(register_module("tower" + std::to_string(k), mlp(s.bottom.back(), s.tower, s.dropout, true)));
  }
  MtlOutput forward(const at::Tensor& categorical, const at::Tensor& numerical) override {
    const at::Tensor x = input_(categorical, numerical);
    std::vector<at::Tensor> outs;
    for (auto& expert : experts_) outs.push_back(expert->forward(x));
    const at::Tensor experts = at::stack(outs, 1);  // [n, E, d]
    std::vector<at::Tensor> logits;
    for (size_t k = 0; k < towers_.size(); ++k) {
      const at::Tensor gate = at::softmax(gates_[gates_.size() == 1 ? 0 : k](x), 1).unsqueeze(2);  // [n, E, 1]
      logits.push_back(towers_[k]->forward((gate * experts).sum(1)));
    }
    return from_logits(at::cat(logits, 1));
  }
  std::vector<at::Tensor> shared_parameters() override {
    std::vector<at::Tensor> weights;
    for (auto& expert : experts_) weights.push_back(last_linear_weight(expert));
    return weights;
  }
  FeatureEmbedding input_layer() override { return input_; }

 private:
  FeatureEmbedding input_{nullptr};
  std::vector<torch::nn::Sequential> experts_;
  std::vector<torch::nn::Linear> gates_;
  std::vector<torch::nn::Sequential> towers_;
};

}  // namespace

std::shared_ptr<MtlModel> make_mmoe(const ModelShape& shape) { return std::make_shared<MixtureOfExperts>(shape, true); }
std::shared_ptr<MtlModel> make_omoe(const ModelShape& shape) { return std::make_shared<MixtureOfExperts>(shape, false); }

}  // namespace losscc::models::mtl
