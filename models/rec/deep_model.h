// DeepModel as AutoLossGen trains it: an MLP over the concatenated 64-d user
// and item embeddings with hidden layers of 64 and 16 units, each
// Linear → BatchNorm → ReLU → Dropout(0.2), then a linear score; prob =
// sigmoid(score). Embeddings start N(0, 1) (nn.Embedding's default), the
// linear layers with nn.Linear's default. Dropout and batch statistics apply
// in train() mode only; evaluate() switches to eval().
#pragma once

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "models/rec/rec_model.h"

namespace losscc::models {

class DeepModel : public RecModel {
 public:
  // `dropout`: the dropout probability after each hidden layer (0 switches it off,
  // as the native path's parity test needs).
  DeepModel(int64_t num_users, int64_t num_items, int64_t dim = 64, double dropout = 0.2);
  ModelOutput forward(const at::Tensor& users, const at::Tensor& items) override;
  std::shared_ptr<RecModel> clone_model() const override;
  double dropout() const { return dropout_p_; }

 private:
  int64_t num_users_, num_items_, dim_;
  double dropout_p_;
  torch::nn::Embedding user_vectors_{nullptr}, item_vectors_{nullptr};
  torch::nn::Linear hidden1_{nullptr}, hidden2_{nullptr}, out_{nullptr};
  torch::nn::BatchNorm1d norm1_{nullptr}, norm2_{nullptr};
  SeededDropout dropout_{nullptr};
};

}  // namespace losscc::models
