// `sharedbottom`: shared embeddings and bottom MLP, one tower per task.
#include "models/mtl/architectures.h"

namespace losscc::models::mtl {

namespace {

class SharedBottom : public MtlModel {
 public:
  explicit SharedBottom(const ModelShape& s) : MtlModel("sharedbottom", s) {
    input_ = register_module("input", FeatureEmbedding(s.field_sizes, s.numerical, s.embed_dim));
    bottom_ = register_module("bottom", mlp(input_->output_dim(), s.bottom, s.dropout, false));
    for (int64_t k = 0; k < s.tasks; ++k)
      towers_.push_back(register_module("tower" + std::to_string(k), mlp(s.bottom.back(), s.tower, s.dropout, true)));
  }
  MtlOutput forward(const at::Tensor& categorical, const at::Tensor& numerical) override {
    const at::Tensor shared = bottom_->forward(input_(categorical, numerical));
    std::vector<at::Tensor> logits;
    for (auto& tower : towers_) logits.push_back(tower->forward(shared));
    return from_logits(at::cat(logits, 1));
  }
  std::vector<at::Tensor> shared_parameters() override { return {last_linear_weight(bottom_)}; }
  FeatureEmbedding input_layer() override { return input_; }

 private:
  FeatureEmbedding input_{nullptr};
  torch::nn::Sequential bottom_{nullptr};
  std::vector<torch::nn::Sequential> towers_;
};

}  // namespace

std::shared_ptr<MtlModel> make_shared_bottom(const ModelShape& shape) { return std::make_shared<SharedBottom>(shape); }

}  // namespace losscc::models::mtl
