// `single`: one independent network per task; nothing is shared.
#include "models/mtl/architectures.h"

namespace losscc::models::mtl {

namespace {

class SingleTask : public MtlModel {
 public:
  explicit SingleTask(const ModelShape& s) : MtlModel("single", s) {
    for (int64_t k = 0; k < s.tasks; ++k) {
      inputs_.push_back(register_module("input" + std::to_string(k),
                                        FeatureEmbedding(s.field_sizes, s.numerical, s.embed_dim)));
      std::vector<int64_t> layers = s.bottom;
      layers.insert(layers.end(), s.tower.begin(), s.tower.end());
      nets_.push_back(register_module("net" + std::to_string(k),
                                      mlp(inputs_.back()->output_dim(), layers, s.dropout, true)));
    }
  }
  MtlOutput forward(const at::Tensor& categorical, const at::Tensor& numerical) override {
    std::vector<at::Tensor> logits;
    for (size_t k = 0; k < nets_.size(); ++k) logits.push_back(nets_[k]->forward(inputs_[k](categorical, numerical)));
    return from_logits(at::cat(logits, 1));
  }
  std::vector<at::Tensor> shared_parameters() override { return {}; }
  FeatureEmbedding input_layer() override { return inputs_[0]; }

 private:
  std::vector<FeatureEmbedding> inputs_;
  std::vector<torch::nn::Sequential> nets_;
};

}  // namespace

std::shared_ptr<MtlModel> make_single_task(const ModelShape& shape) { return std::make_shared<SingleTask>(shape); }

}  // namespace losscc::models::mtl
