// REINFORCE for the loss policy, as in ENAS and AutoLossGen: the advantage is
// the reward minus an exponential moving average of past rewards, an entropy
// bonus keeps exploration alive, gradients are clipped by global norm, and one
// Adam step is taken per `num_aggregate` samples.
//
// Reward filtering (AutoLossGen): a measured reward below baseline − skip_lim
// is replaced by the minimum reward and does not move the baseline, so one
// lucky or unlucky loss cannot drag the baseline around. Candidates that never
// got a measured reward (invalid, diverged) also get the minimum reward and
// leave the baseline alone: the baseline tracks what trained losses achieve.
//
// Risk-seeking policy gradient (Petersen et al., deep symbolic regression),
// when risk_seeking > 0: at each update only the samples of the window at or
// above its (1 − risk_seeking) reward quantile count, with that quantile as
// their baseline. The search wants the best loss, not a good mean; the EMA
// baseline spends its updates pushing the failures down.
#pragma once

#include <torch/optim/adam.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "search/policy.h"

namespace losscc::search {

struct ReinforceConfig {
  double learning_rate = 1e-3;
  double baseline_decay = 0.99;
  double entropy_weight = 1e-4;
  double grad_clip = 5.0;  // max global L2 norm of the policy gradient
  int num_aggregate = 10;  // samples per policy update
  double skip_lim = 0.02;  // filter rewards below baseline − skip_lim
  double min_reward = 0.0;  // the reward of a rejected candidate (below any AUC)
  double risk_seeking = 0;  // ε of the risk-seeking gradient; 0: the EMA baseline
};

class RewardBaseline {
 public:
  explicit RewardBaseline(double decay) : decay_(decay) {}
  // Unset until the first measured reward, which it then takes as is.
  std::optional<double> value() const { return value_; }
  void update(double reward) {
    value_ = value_ ? decay_ * *value_ + (1 - decay_) * reward : reward;
  }
  void set(std::optional<double> value) { value_ = value; }

 private:
  double decay_;
  std::optional<double> value_;
};

class Reinforce {
 public:
  Reinforce(LossPolicy policy, ReinforceConfig config);

  struct Outcome {
    double reward;     // what the policy gradient used
    bool filtered;     // the measured reward fell below baseline − skip_lim
    bool updated;      // this sample completed a window and the policy stepped
  };
  // Records one sample. `measured` is its reward when it was trained (or a
  // duplicate of a trained loss); nullopt for a rejected candidate.
  Outcome observe(const std::vector<Token>& tokens, std::optional<double> measured);

  std::optional<double> baseline() const { return baseline_.value(); }
  int64_t updates() const { return updates_; }
  size_t pending() const { return pending_.size(); }
  LossPolicy& policy() { return policy_; }
  torch::optim::Adam& optimizer() { return optimizer_; }

  // Scalars and the pending window (tokens and advantages), for checkpoints;
  // the policy's and the optimiser's tensors are saved by the caller.
  nlohmann::json state() const;
  void restore(const nlohmann::json& state);

 private:
  void update();

  struct Pending {
    std::vector<Token> tokens;
    double advantage;  // against the EMA baseline
    double reward;     // what the policy gradient used
  };
  LossPolicy policy_;
  ReinforceConfig config_;
  torch::optim::Adam optimizer_;
  RewardBaseline baseline_;
  std::vector<Pending> pending_;
  int64_t updates_ = 0;
};

}  // namespace losscc::search
