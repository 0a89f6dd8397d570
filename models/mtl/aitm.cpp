// `aitm`: adaptive information transfer. Shared embeddings, a bottom MLP per
// task giving q_k; for k > 0, p = ReLU(info(z_{k-1})) carries task k-1's
// representation over and z_k = Σ_i softmax_i(<h(x_i), g(x_i)> / sqrt(d)) · f(x_i)
// over x ∈ {q_k, p} (z_0 = q_0); then a tower per task over z_k.
#include <torch/nn/modules/linear.h>

#include <cmath>

#include "models/mtl/architectures.h"

namespace losscc::models::mtl {

namespace {

class Aitm : public MtlModel {
 public:
  explicit Aitm(const ModelShape& s) : MtlModel("aitm", s) {
    input_ = register_module("input", FeatureEmbedding(s.field_sizes, s.numerical, s.embed_dim));
    const int64_t d = s.bottom.back();
    dim_ = d;
    for (int64_t k = 0; k < s.tasks; ++k) {
      const std::string name = std::to_string(k);
      bottoms_.push_back(register_module("bottom" + name, mlp(input_->output_dim(), s.bottom, s.dropout, false)));
      towers_.push_back(register_module("tower" + name, mlp(d, s.tower, s.dropout, true)));
      if (k > 0) info_.push_back(register_module("info" + name, torch::nn::Linear(d, d)));
    }
    h_ = register_module("h", torch::nn::Linear(d, d));
    f_ = register_module("f", torch::nn::Linear(d, d));
    g_ = register_module("g", torch::nn::Linear(d, d));
  }
  MtlOutput forward(const at::Tensor& categorical, const at::Tensor& numerical) override {
    const at::Tensor x = input_(categorical, numerical);
    std::vector<at::Tensor> logits;
    at::Tensor previous;
    for (size_t k = 0; k < bottoms_.size(); ++k) {
      at::Tensor z = bottoms_[k]->forward(x);
      if (k > 0) {
        const at::Tensor pair = at::stack({z, at::relu(info_[k - 1](previous))}, 1);  // [n, 2, d]
        const at::Tensor attention =
            at::softmax((h_(pair) * g_(pair)).sum(2) / std::sqrt(static_cast<double>(dim_)), 1).unsqueeze(2);
        z = (attention * f_(pair)).sum(1);
      }
      logits.push_back(towers_[k]->forward(z));
      previous = z;
    }
    return from_logits(at::cat(logits, 1));
  }
  std::vector<at::Tensor> shared_parameters() override { return {input_->table->weight}; }
  FeatureEmbedding input_layer() override { return input_; }

 private:
  int64_t dim_ = 0;
  FeatureEmbedding input_{nullptr};
  std::vector<torch::nn::Sequential> bottoms_, towers_;
  std::vector<torch::nn::Linear> info_;
  torch::nn::Linear h_{nullptr}, f_{nullptr}, g_{nullptr};
};

}  // namespace

std::shared_ptr<MtlModel> make_aitm(const ModelShape& shape) { return std::make_shared<Aitm>(shape); }

}  // namespace losscc::models::mtl
