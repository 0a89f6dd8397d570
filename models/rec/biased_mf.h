// BiasedMF as AutoLossGen trains it: 64-d user and item embeddings, a user,
// an item and a global bias; score = <p_u, q_i> + b_u + b_i + b, prob =
// sigmoid(score). Embeddings (biases included) start N(0, 1), nn.Embedding's
// default; the global bias starts at 0.1.
#pragma once

#include <torch/nn/modules/embedding.h>

#include "models/rec/rec_model.h"

namespace losscc::models {

class BiasedMF : public RecModel {
 public:
  BiasedMF(int64_t num_users, int64_t num_items, int64_t dim = 64);
  ModelOutput forward(const at::Tensor& users, const at::Tensor& items) override;
  std::shared_ptr<RecModel> clone_model() const override;

 private:
  int64_t num_users_, num_items_, dim_;
  torch::nn::Embedding user_vectors_{nullptr}, item_vectors_{nullptr};
  torch::nn::Embedding user_bias_{nullptr}, item_bias_{nullptr};
  at::Tensor global_bias_;
};

}  // namespace losscc::models
