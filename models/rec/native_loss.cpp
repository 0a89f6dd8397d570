#include "models/rec/native_loss.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "compiler/passes/build_program.h"
#include "models/errors.h"
#include "runtime/kernel.h"

namespace losscc::models::native {

LossStep::LossStep(const LossFunction& loss, const TrainConfig& config) : prob_clip_(config.prob_clip) {
  if (std::find(optimizer_names().begin(), optimizer_names().end(), config.optimizer) == optimizer_names().end())
    throw std::invalid_argument(fmt::format("Trainer: unknown optimizer '{}' (known: {})", config.optimizer,
                                            fmt::join(optimizer_names(), ", ")));
  sources_ = bind_loss_inputs(loss, config);
  grad_inputs_ = trained_inputs(loss);  // every input but the labels: the ones the model feeds
  rt::CompileOptions options;
  if (!rt::backend_available(rt::Backend::Llvm)) options.backend = rt::Backend::Interp;
  kernel_ = rt::get_kernel(build_program(loss, grad_inputs_), options);
}

LossStep::~LossStep() = default;

double LossStep::run(const float* score, const float* label, int64_t n, std::vector<float>& dscore) {
  const float lo = static_cast<float>(prob_clip_), hi = static_cast<float>(1 - prob_clip_);
  prob_.resize(static_cast<size_t>(n));
  clipped_.resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    prob_[k] = 1.0f / (1.0f + std::exp(-score[k]));
    clipped_[k] = prob_clip_ > 0 ? std::min(std::max(prob_[k], lo), hi) : prob_[k];
  }

  // The fused loss kernel: the reduced loss and ∂loss/∂input for the inputs
  // the model feeds.
  rt::HostArgs args;
  args.n = n;
  args.threads = 1;
  for (LossSource s : sources_)
    args.inputs.push_back(s == LossSource::Prob ? clipped_.data() : s == LossSource::Score ? score : label);
  loss_grads_.resize(grad_inputs_.size());
  for (auto& g : loss_grads_) {
    g.resize(static_cast<size_t>(n));
    args.grads.push_back(g.data());
  }
  const double value = kernel_->run(args);

  // ∂loss/∂score, through the clamp (which passes the gradient inside
  // [lo, hi], ends included) and the sigmoid.
  dscore.assign(static_cast<size_t>(n), 0.0f);
  for (size_t g = 0; g < grad_inputs_.size(); ++g) {
    const bool from_prob = sources_[grad_inputs_[g]] == LossSource::Prob;
    for (int64_t k = 0; k < n; ++k) {
      float d = loss_grads_[g][k];
      if (from_prob) {
        const bool inside = prob_clip_ <= 0 || (prob_[k] >= lo && prob_[k] <= hi);
        d = inside ? d * (1 - prob_[k]) * prob_[k] : 0.0f;
      }
      dscore[k] += d;
    }
  }
  bool finite = std::isfinite(value);
  for (int64_t k = 0; k < n; ++k) finite = finite && std::isfinite(dscore[k]);
  if (!finite) throw NonFiniteLoss(fmt::format("non-finite training loss ({}) or gradient", value));
  return value;
}

}  // namespace losscc::models::native
