// `esmm`: shared embeddings, a bottom and a tower per task; the probability of
// task k is the product of the sigmoids of towers 0..k (pCTCVR = pCTR · pCVR
// for two tasks). The logit is that of the product, computed in log space.
#include "models/mtl/architectures.h"

namespace losscc::models::mtl {

namespace {

class Esmm : public MtlModel {
 public:
  explicit Esmm(const ModelShape& s) : MtlModel("esmm", s) {
    input_ = register_module("input", FeatureEmbedding(s.field_sizes, s.numerical, s.embed_dim));
    std::vector<int64_t> layers = s.bottom;
    layers.insert(layers.end(), s.tower.begin(), s.tower.end());
    for (int64_t k = 0; k < s.tasks; ++k)
      nets_.push_back(register_module("net" + std::to_string(k), mlp(input_->output_dim(), layers, s.dropout, true)));
  }
  MtlOutput forward(const at::Tensor& categorical, const at::Tensor& numerical) override {
    const at::Tensor x = input_(categorical, numerical);
    std::vector<at::Tensor> logits;
    for (auto& net : nets_) logits.push_back(net->forward(x));
    // log p_k = Σ_{j<=k} log σ(l_j); logit = log p − log(1 − p).
    const at::Tensor log_p = at::cumsum(at::log_sigmoid(at::cat(logits, 1)), 1).clamp_max(-1e-7);
    const at::Tensor score = log_p - at::log(-at::expm1(log_p));
    return {at::exp(log_p), score};
  }
  std::vector<at::Tensor> shared_parameters() override { return {input_->table->weight}; }
  FeatureEmbedding input_layer() override { return input_; }

 private:
  FeatureEmbedding input_{nullptr};
  std::vector<torch::nn::Sequential> nets_;
};

}  // namespace

std::shared_ptr<MtlModel> make_esmm(const ModelShape& shape) { return std::make_shared<Esmm>(shape); }

}  // namespace losscc::models::mtl
