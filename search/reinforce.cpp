#include "search/reinforce.h"

#include <algorithm>
#include <cmath>
#include <optional>

namespace losscc::search {

Reinforce::Reinforce(LossPolicy policy, ReinforceConfig config)
    : policy_(std::move(policy)),
      config_(config),
      optimizer_(policy_->parameters(), torch::optim::AdamOptions(config.learning_rate)),
      baseline_(config.baseline_decay) {}

Reinforce::Outcome Reinforce::observe(const std::vector<Token>& tokens,
                                      std::optional<double> measured) {
  Outcome out{config_.min_reward, false, false};
  const std::optional<double> before = baseline_.value();
  if (measured) {
    out.filtered = before && *measured < *before - config_.skip_lim;
    if (!out.filtered) {
      out.reward = *measured;
      baseline_.update(*measured);
    }
  }
  // Before any measured reward there is nothing to compare with: the first
  // rejected samples carry no signal rather than an arbitrary one.
  const double advantage = before ? out.reward - *before : 0.0;
  pending_.push_back({tokens, advantage, out.reward});
  if (static_cast<int>(pending_.size()) >= config_.num_aggregate) {
    update();
    out.updated = true;
  }
  return out;
}

void Reinforce::update() {
  optimizer_.zero_grad();
  // Risk-seeking: the window's (1 − ε) reward quantile is the baseline, and
  // only the samples at or above it count.
  std::optional<double> quantile;
  if (config_.risk_seeking > 0) {
    std::vector<double> rewards;
    for (const Pending& p : pending_) rewards.push_back(p.reward);
    std::sort(rewards.begin(), rewards.end());
    const double at = (1 - config_.risk_seeking) * static_cast<double>(rewards.size() - 1);
    quantile = rewards[static_cast<size_t>(std::floor(at))];
  }
  at::Tensor loss = at::zeros({});
  int counted = 0;
  for (const Pending& p : pending_) {
    if (quantile && p.reward < *quantile) continue;
    const double advantage = quantile ? p.reward - *quantile : p.advantage;
    LossPolicyImpl::Score s = policy_->score(p.tokens);
    loss = loss - advantage * s.log_prob - config_.entropy_weight * s.entropy;
    ++counted;
  }
  loss = loss / static_cast<double>(std::max(counted, 1));
  loss.backward();

  // Clip by global norm (torch::nn::utils::clip_grad_norm_, written out to
  // keep the include list narrow).
  double squared = 0;
  for (const at::Tensor& p : policy_->parameters())
    if (p.grad().defined()) squared += p.grad().pow(2).sum().item<double>();
  const double norm = std::sqrt(squared);
  if (norm > config_.grad_clip) {
    const double scale = config_.grad_clip / (norm + 1e-6);
    for (at::Tensor& p : policy_->parameters())
      if (p.grad().defined()) p.mutable_grad().mul_(scale);
  }
  optimizer_.step();
  pending_.clear();
  ++updates_;
}

nlohmann::json Reinforce::state() const {
  nlohmann::json pending = nlohmann::json::array();
  for (const Pending& p : pending_) {
    nlohmann::json tokens = nlohmann::json::array();
    for (const Token& t : p.tokens) tokens.push_back({t.op, t.lhs, t.rhs});
    pending.push_back({{"tokens", tokens}, {"advantage", p.advantage}, {"reward", p.reward}});
  }
  nlohmann::json baseline = nullptr;
  if (baseline_.value()) baseline = *baseline_.value();
  return {{"baseline", baseline}, {"updates", updates_}, {"pending", pending}};
}

void Reinforce::restore(const nlohmann::json& state) {
  const nlohmann::json& b = state.at("baseline");
  baseline_.set(b.is_null() ? std::nullopt : std::optional<double>(b.get<double>()));
  updates_ = state.at("updates").get<int64_t>();
  pending_.clear();
  for (const nlohmann::json& p : state.at("pending")) {
    Pending restored{{}, p.at("advantage").get<double>(), p.value("reward", config_.min_reward)};
    for (const nlohmann::json& t : p.at("tokens"))
      restored.tokens.push_back({t[0].get<int>(), t[1].get<int>(), t[2].get<int>()});
    pending_.push_back(std::move(restored));
  }
}

}  // namespace losscc::search
