#include "models/rec_model.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/autograd.h>

#include <functional>
#include <mutex>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/biased_mf.h"
#include "models/deep_model.h"

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
    return factory(num_users, num_items);
  }
  throw std::invalid_argument(
      fmt::format("unknown model '{}' (known: {})", kind, fmt::join(model_kinds(), ", ")));
}

namespace {

void copy_tensors(const torch::OrderedDict<std::string, at::Tensor>& source,
                  torch::OrderedDict<std::string, at::Tensor>& target) {
  if (source.size() != target.size())
    throw std::invalid_argument(fmt::format("copy_state: {} tensors into {}", source.size(), target.size()));
  for (const auto& item : source) {
    at::Tensor* dest = target.find(item.key());
    if (!dest || !dest->sizes().equals(item.value().sizes()))
      throw std::invalid_argument(fmt::format("copy_state: no tensor '{}' of the same shape", item.key()));
    dest->copy_(item.value());
  }
}

}  // namespace

void copy_state(const torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto parameters = to.named_parameters();
  copy_tensors(from.named_parameters(), parameters);
  auto buffers = to.named_buffers();
  copy_tensors(from.named_buffers(), buffers);
}

namespace detail {

std::unique_lock<std::mutex> lock_global_rng() {
  static std::mutex seeding;
  return std::unique_lock<std::mutex>(seeding);
}

GlobalRngRestorer::GlobalRngRestorer() : lock_(lock_global_rng()) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  state_ = gen.get_state();
}

GlobalRngRestorer::~GlobalRngRestorer() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state_);
}

}  // namespace detail

}  // namespace losscc::models
