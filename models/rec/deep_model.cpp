#include "models/rec/deep_model.h"

namespace losscc::models {

DeepModel::DeepModel(int64_t num_users, int64_t num_items, int64_t dim, double dropout)
    : num_users_(num_users), num_items_(num_items), dim_(dim), dropout_p_(dropout) {
  user_vectors_ = register_module("user_vectors", torch::nn::Embedding(num_users, dim));
  item_vectors_ = register_module("item_vectors", torch::nn::Embedding(num_items, dim));
  hidden1_ = register_module("hidden1", torch::nn::Linear(2 * dim, 64));
  hidden2_ = register_module("hidden2", torch::nn::Linear(64, 16));
  out_ = register_module("out", torch::nn::Linear(16, 1));
  norm1_ = register_module("norm1", torch::nn::BatchNorm1d(64));
  norm2_ = register_module("norm2", torch::nn::BatchNorm1d(16));
  dropout_ = register_module("dropout", SeededDropout(dropout));
}

ModelOutput DeepModel::forward(const at::Tensor& users, const at::Tensor& items) {
  at::Tensor x = at::cat({user_vectors_(users), item_vectors_(items)}, 1);
  x = dropout_(at::relu(norm1_(hidden1_(x))));
  x = dropout_(at::relu(norm2_(hidden2_(x))));
  at::Tensor score = out_(x).squeeze(1);
  return {at::sigmoid(score), score};
}

std::shared_ptr<RecModel> DeepModel::clone_model() const {
  return clone_with_parameters(*this, num_users_, num_items_, dim_, dropout_p_);
}

}  // namespace losscc::models
