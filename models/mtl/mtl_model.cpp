#include "models/mtl/mtl_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/activation.h>

#include <functional>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/mtl/architectures.h"
#include "models/module_state.h"

namespace losscc::models::mtl {

nlohmann::json ModelShape::to_json() const {
  return {{"fields", field_sizes.size()}, {"numerical", numerical}, {"tasks", tasks},
          {"embed_dim", embed_dim},       {"bottom", bottom},       {"tower", tower},
          {"experts", experts},           {"dropout", dropout}};
}

FeatureEmbeddingImpl::FeatureEmbeddingImpl(const std::vector<int64_t>& field_sizes, int64_t numerical,
                                           int64_t dim) {
  std::vector<int64_t> offsets;
  int64_t total = 0;
  for (int64_t size : field_sizes) {
    offsets.push_back(total);
    total += size;
  }
  table = register_module("table", torch::nn::Embedding(std::max<int64_t>(total, 1), dim));
  offsets_ = register_buffer("offsets", at::tensor(offsets, at::kLong).view({1, -1}));
  if (numerical > 0) numerical_layer = register_module("numerical", torch::nn::Linear(numerical, dim));
  output_dim_ = dim * (static_cast<int64_t>(field_sizes.size()) + (numerical > 0 ? 1 : 0));
}

at::Tensor FeatureEmbeddingImpl::forward(const at::Tensor& categorical, const at::Tensor& numerical) {
  std::vector<at::Tensor> parts;
  if (offsets_.size(1) > 0) parts.push_back(table(categorical + offsets_).flatten(1));
  if (numerical_layer) parts.push_back(numerical_layer(numerical));
  return at::cat(parts, 1);
}

torch::nn::Sequential mlp(int64_t input, const std::vector<int64_t>& hidden, double dropout, bool output) {
  torch::nn::Sequential net;
  for (int64_t size : hidden) {
    net->push_back(torch::nn::Linear(input, size));
    net->push_back(torch::nn::BatchNorm1d(size));
    net->push_back(torch::nn::ReLU());
    net->push_back(SeededDropout(dropout));
    input = size;
  }
  if (output) net->push_back(torch::nn::Linear(input, 1));
  return net;
}

at::Tensor last_linear_weight(torch::nn::Sequential net) {
  for (size_t i = net->size(); i-- > 0;)
    if (auto linear = net[i]->as<torch::nn::Linear>()) return linear->weight;
  throw std::logic_error("last_linear_weight: no Linear layer");
}

MtlOutput from_logits(const at::Tensor& logits) { return {at::sigmoid(logits), logits}; }

namespace {

using Factory = std::function<std::shared_ptr<MtlModel>(const ModelShape&)>;

const std::vector<std::pair<std::string, Factory>>& factories() {
  static const std::vector<std::pair<std::string, Factory>> table = {
      {"single", make_single_task}, {"sharedbottom", make_shared_bottom}, {"esmm", make_esmm},
      {"mmoe", make_mmoe},          {"omoe", make_omoe},                  {"ple", make_ple},
      {"aitm", make_aitm},
  };
  return table;
}

void check_shape(const ModelShape& s) {
  if (s.tasks < 1) throw std::invalid_argument("model: needs at least one task");
  if (s.field_sizes.empty() && s.numerical == 0) throw std::invalid_argument("model: no input features");
  if (s.embed_dim < 1 || s.experts < 1 || s.bottom.empty())
    throw std::invalid_argument("model: embed_dim and experts must be >= 1 and bottom non-empty");
  for (int64_t size : s.bottom)
    if (size < 1) throw std::invalid_argument("model: layer sizes must be >= 1");
  for (int64_t size : s.tower)
    if (size < 1) throw std::invalid_argument("model: layer sizes must be >= 1");
  if (s.dropout < 0 || s.dropout >= 1) throw std::invalid_argument("model: dropout must be in [0, 1)");
}

}  // namespace

const std::vector<std::string>& mtl_model_kinds() {
  static const std::vector<std::string> kinds = [] {
    std::vector<std::string> names;
    for (const auto& [name, factory] : factories()) names.push_back(name);
    return names;
  }();
  return kinds;
}

std::shared_ptr<MtlModel> make_mtl_model(const std::string& kind, const ModelShape& shape, uint64_t seed) {
  check_shape(shape);
  for (const auto& [name, factory] : factories()) {
    if (name != kind) continue;
    const std::unique_lock<std::mutex> lock = models::detail::lock_global_rng();
    at::manual_seed(seed);
    std::shared_ptr<MtlModel> model = factory(shape);
    model->use_dropout_generator(at::detail::getDefaultCPUGenerator().clone());
    return model;
  }
  throw std::invalid_argument(
      fmt::format("unknown model '{}' (known: {})", kind, fmt::join(mtl_model_kinds(), ", ")));
}

std::shared_ptr<MtlModel> MtlModel::clone_model() const {
  std::shared_ptr<MtlModel> copy;
  {
    models::detail::GlobalRngRestorer restore;
    for (const auto& [name, factory] : factories())
      if (name == kind_) copy = factory(shape_);
  }
  copy_state(*this, *copy);
  if (dropout_generator_) copy->use_dropout_generator(dropout_generator_->clone());
  return copy;
}

void MtlModel::use_dropout_generator(at::Generator generator) {
  set_dropout_generator(*this, generator);
  dropout_generator_ = std::move(generator);
}

}  // namespace losscc::models::mtl
