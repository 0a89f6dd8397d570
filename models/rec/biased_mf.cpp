#include "models/rec/biased_mf.h"

namespace losscc::models {

BiasedMF::BiasedMF(int64_t num_users, int64_t num_items, int64_t dim)
    : num_users_(num_users), num_items_(num_items), dim_(dim) {
  user_vectors_ = register_module("user_vectors", torch::nn::Embedding(num_users, dim));
  item_vectors_ = register_module("item_vectors", torch::nn::Embedding(num_items, dim));
  user_bias_ = register_module("user_bias", torch::nn::Embedding(num_users, 1));
  item_bias_ = register_module("item_bias", torch::nn::Embedding(num_items, 1));
  global_bias_ = register_parameter("global_bias", at::full({}, 0.1, at::kFloat));
}

ModelOutput BiasedMF::forward(const at::Tensor& users, const at::Tensor& items) {
  at::Tensor score = (user_vectors_(users) * item_vectors_(items)).sum(1) +
                     user_bias_(users).squeeze(1) + item_bias_(items).squeeze(1) + global_bias_;
  return {at::sigmoid(score), score};
}

std::shared_ptr<RecModel> BiasedMF::clone_model() const {
  return clone_with_parameters(*this, num_users_, num_items_, dim_);
}

}  // namespace losscc::models
