#include "models/rec/rec_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>

#include <functional>
#include <mutex>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/rec/biased_mf.h"
#include "models/rec/deep_model.h"

namespace losscc::models {

namespace {

using ModelFactory = std::function<std::shared_ptr<RecModel>(int64_t users, int64_t items)>;

const std::vector<std::pair<std::string, ModelFactory>>& factories() {
  static const std::vector<std::pair<std::string, ModelFactory>> table = {
      {"biasedmf", [](int64_t u, int64_t i) { return std::make_shared<BiasedMF>(u, i); }},
      {"deepmodel", [](int64_t u, int64_t i) { return std::make_shared<DeepModel>(u, i); }},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& model_kinds() {
  static const std::vector<std::string> kinds = [] {
    std::vector<std::string> names;
    for (const auto& [name, factory] : factories()) names.push_back(name);
    return names;
  }();
  return kinds;
}

std::shared_ptr<RecModel> make_model(const std::string& kind, int64_t num_users, int64_t num_items,
                                     uint64_t seed) {
  for (const auto& [name, factory] : factories()) {
    if (name != kind) continue;
    const std::unique_lock<std::mutex> lock = detail::lock_global_rng();
    at::manual_seed(seed);
    std::shared_ptr<RecModel> model = factory(num_users, num_items);
    model->use_dropout_generator(at::detail::getDefaultCPUGenerator().clone());
    return model;
  }
  throw std::invalid_argument(
      fmt::format("unknown model '{}' (known: {})", kind, fmt::join(model_kinds(), ", ")));
}

Metrics evaluate(RecModel& model, const Interactions& rows, int64_t batch) {
  torch::NoGradGuard no_grad;
  model.eval();
  std::vector<at::Tensor> probs;
  for (int64_t start = 0; start < rows.size(); start += batch) {
    const int64_t end = std::min(start + batch, rows.size());
    probs.push_back(model.forward(rows.users.slice(0, start, end), rows.items.slice(0, start, end)).prob);
  }
  const at::Tensor prob = probs.empty() ? at::empty({0}, at::kFloat) : at::cat(probs);
  return compute_metrics(prob, rows.labels);
}

}  // namespace losscc::models
