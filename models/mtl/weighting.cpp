#include "models/mtl/weighting.h"

#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/mtl/rmtl.h"

namespace losscc::models::mtl {

nlohmann::json RmtlConfig::to_json() const {
  return {{"lambda", lambda},
          {"gamma", gamma},
          {"tau", tau},
          {"pretrain_epochs", pretrain_epochs},
          {"soft_update_every", soft_update_every},
          {"critic_every", critic_every},
          {"warmup_steps", warmup_steps},
          {"buffer", buffer},
          {"critic_batch", critic_batch},
          {"critic_lr", critic_lr},
          {"critic_weight_decay", critic_weight_decay},
          {"explore_noise", explore_noise},
          {"target_noise", target_noise},
          {"target_noise_clip", target_noise_clip},
          {"critic_bottom", critic_bottom},
          {"critic_tower", critic_tower}};
}

nlohmann::json WeightingConfig::to_json() const {
  nlohmann::json j = {{"method", method}};
  if (method == "fixed") j["fixed"] = fixed;
  if (method == "gradnorm") j["gradnorm"] = {{"alpha", gradnorm_alpha}, {"lr", gradnorm_lr}};
  if (method == "dwa") j["dwa_temperature"] = dwa_temperature;
  if (method == "rmtl") j["rmtl"] = rmtl.to_json();
  return j;
}

std::vector<double> gradnorm_update(const std::vector<double>& w, const std::vector<double>& g,
                                    const std::vector<double>& ratios, double alpha, double lr) {
  const size_t k_tasks = w.size();
  double mean_g = 0, mean_ratio = 0;
  for (size_t k = 0; k < k_tasks; ++k) {
    mean_g += w[k] * g[k] / static_cast<double>(k_tasks);
    mean_ratio += ratios[k] / static_cast<double>(k_tasks);
  }
  std::vector<double> next(k_tasks);
  double total = 0;
  for (size_t k = 0; k < k_tasks; ++k) {
    const double target = mean_g * std::pow(ratios[k] / mean_ratio, alpha);
    const double gk = w[k] * g[k];
    // d|G_k − target|/dw_k = sign(G_k − target)·g_k (target held constant).
    const double grad = (gk > target ? 1.0 : gk < target ? -1.0 : 0.0) * g[k];
    next[k] = std::max(w[k] - lr * grad, 1e-4);
    total += next[k];
  }
  for (double& x : next) x *= static_cast<double>(k_tasks) / total;
  return next;
}

std::vector<double> dwa_weights(const std::vector<double>& previous, const std::vector<double>& before,
                                double temperature) {
  std::vector<double> w(previous.size());
  double total = 0;
  for (size_t k = 0; k < w.size(); ++k) total += w[k] = std::exp(previous[k] / before[k] / temperature);
  for (double& x : w) x *= static_cast<double>(w.size()) / total;
  return w;
}

namespace {

at::Tensor broadcast(const std::vector<double>& w, int64_t n) {
  return at::tensor(w, at::kDouble).to(at::kFloat).view({1, -1}).expand({n, static_cast<int64_t>(w.size())});
}

class ConstantWeights : public Weighting {
 public:
  explicit ConstantWeights(std::vector<double> w) : w_(std::move(w)) {}
  Terms terms(const Step& step) override { return {broadcast(w_, step.batch.size()), {}}; }
  nlohmann::json state() const override { return {{"weights", w_}}; }

 protected:
  std::vector<double> w_;
};

class Uncertainty : public Weighting {
 public:
  explicit Uncertainty(int64_t tasks) : log_var_(at::zeros({tasks}, at::kFloat).requires_grad_(true)) {}
  Terms terms(const Step& step) override {
    const at::Tensor w = 0.5 * at::exp(-log_var_);
    // The fused loss divides by K; the regulariser shares that factor.
    const at::Tensor extra = 0.5 * log_var_.sum() / static_cast<double>(log_var_.size(0));
    return {w.view({1, -1}).expand({step.batch.size(), log_var_.size(0)}), extra};
  }
  std::vector<at::Tensor> parameters() override { return {log_var_}; }
  nlohmann::json state() const override {
    const at::Tensor w = (0.5 * at::exp(-log_var_.detach())).to(at::kDouble).contiguous();
    const at::Tensor s = log_var_.detach().to(at::kDouble).contiguous();
    return {{"weights", std::vector<double>(w.data_ptr<double>(), w.data_ptr<double>() + w.numel())},
            {"log_variance", std::vector<double>(s.data_ptr<double>(), s.data_ptr<double>() + s.numel())}};
  }

 private:
  at::Tensor log_var_;
};

class GradNorm : public ConstantWeights {
 public:
  GradNorm(int64_t tasks, double alpha, double lr)
      : ConstantWeights(std::vector<double>(tasks, 1.0)), alpha_(alpha), lr_(lr) {}
  Terms terms(const Step& step) override {
    const int64_t k_tasks = static_cast<int64_t>(w_.size());
    const int64_t n = step.batch.size();
    std::vector<at::Tensor> shared = step.model.shared_parameters();
    std::vector<double> norms(k_tasks), losses(k_tasks);
    for (int64_t k = 0; k < k_tasks; ++k) {
      // L_k alone: the fused program with weight K on task k and 0 elsewhere.
      at::Tensor one_hot = at::zeros({n, k_tasks}, at::kFloat);
      one_hot.select(1, k).fill_(static_cast<double>(k_tasks));
      const at::Tensor task_loss = step.loss(step.out, step.batch.labels, one_hot);
      losses[k] = task_loss.item<double>();
      const auto grads = torch::autograd::grad({task_loss}, shared, {}, /*retain_graph=*/true,
                                               /*create_graph=*/false, /*allow_unused=*/true);
      double squares = 0;
      for (const at::Tensor& g : grads)
        if (g.defined()) squares += g.pow(2).sum().item<double>();
      norms[k] = std::sqrt(squares);
    }
    if (initial_.empty()) initial_ = losses;
    std::vector<double> ratios(k_tasks);
    for (int64_t k = 0; k < k_tasks; ++k) ratios[k] = losses[k] / std::max(initial_[k], 1e-12);
    Terms terms{broadcast(w_, n), {}};  // this step trains with the weights before the update
    w_ = gradnorm_update(w_, norms, ratios, alpha_, lr_);
    return terms;
  }

 private:
  double alpha_, lr_;
  std::vector<double> initial_;  // L_k(0)
};

class Dwa : public ConstantWeights {
 public:
  Dwa(int64_t tasks, double temperature) : ConstantWeights(std::vector<double>(tasks, 1.0)), temperature_(temperature) {}
  void end_epoch(const std::vector<double>& losses) override {
    history_.push_back(losses);
    if (history_.size() >= 2)
      w_ = dwa_weights(history_[history_.size() - 1], history_[history_.size() - 2], temperature_);
  }

 private:
  double temperature_;
  std::vector<std::vector<double>> history_;
};

}  // namespace

const std::vector<std::string>& weighting_methods() {
  static const std::vector<std::string> names = {"equal", "fixed", "uw", "gradnorm", "dwa", "rmtl"};
  return names;
}

std::unique_ptr<Weighting> make_weighting(const WeightingConfig& c, MtlModel& model, int64_t tasks) {
  if (c.method == "equal") return std::make_unique<ConstantWeights>(std::vector<double>(tasks, 1.0));
  if (c.method == "fixed") {
    if (static_cast<int64_t>(c.fixed.size()) != tasks)
      throw std::invalid_argument(fmt::format("fixed weighting: {} weights given for {} tasks", c.fixed.size(), tasks));
    for (double w : c.fixed)
      if (!std::isfinite(w) || w < 0) throw std::invalid_argument("fixed weighting: weights must be finite and >= 0");
    return std::make_unique<ConstantWeights>(c.fixed);
  }
  if (c.method == "uw") return std::make_unique<Uncertainty>(tasks);
  if (c.method == "gradnorm") {
    if (model.shared_parameters().empty())
      throw std::invalid_argument(fmt::format("gradnorm: model '{}' shares no layer between tasks", model.kind()));
    if (c.gradnorm_lr <= 0) throw std::invalid_argument("gradnorm: the weight learning rate must be > 0");
    return std::make_unique<GradNorm>(tasks, c.gradnorm_alpha, c.gradnorm_lr);
  }
  if (c.method == "dwa") {
    if (c.dwa_temperature <= 0) throw std::invalid_argument("dwa: the temperature must be > 0");
    return std::make_unique<Dwa>(tasks, c.dwa_temperature);
  }
  if (c.method == "rmtl") return make_rmtl_weighting(c.rmtl, c.seed, model, tasks);
  throw std::invalid_argument(
      fmt::format("unknown weighting '{}' (known: {})", c.method, fmt::join(weighting_methods(), ", ")));
}

}  // namespace losscc::models::mtl
