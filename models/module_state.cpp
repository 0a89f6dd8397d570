#include "models/module_state.h"

#include <ATen/CPUGeneratorImpl.h>

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace losscc::models {

at::Tensor SeededDropoutImpl::forward(const at::Tensor& x) {
  if (!is_training() || p_ == 0 || x.numel() == 0) return x;
  // torch::dropout's CPU path, step for step, with the model's generator.
  at::Tensor noise = at::empty_like(x, at::MemoryFormat::Contiguous);
  noise.bernoulli_(1 - p_, generator_);
  noise.div_(1 - p_);
  return x * noise;
}

void set_dropout_generator(torch::nn::Module& module, const at::Generator& generator) {
  for (const std::shared_ptr<torch::nn::Module>& m : module.modules(/*include_self=*/false))
    if (auto* dropout = dynamic_cast<SeededDropoutImpl*>(m.get())) dropout->set_generator(generator);
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
