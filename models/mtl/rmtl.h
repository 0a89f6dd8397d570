// RMTL's actor-critic loss weighting (Liu et al., "Multi-Task Recommendations
// with Reinforcement Learning", WWW 2023), built from the paper and its code's
// facts, without that code's defects:
//
// - The MDP: the state is a row's features, the action the model's (actor's)
//   prediction per task, the reward per task r_k = y·log a + (1−y)·log(1−a)
//   with a clipped to [1e-4, 1 − 1e-4] (negative BCE), computed on exactly
//   the action that is stored. The next state is the next row of the same
//   session (done at its last row; rows without sessions are one-step
//   episodes, done at once).
// - One critic per task, Q_k(s, a_k) ≤ 0: the categorical embeddings (started
//   from the actor's), the numerical features and the action each embedded,
//   a bottom MLP (by default one layer, of the model's last bottom size), a
//   tower MLP (the model's), output −ReLU. Target copies; TD3-style targets
//     y = r_k + γ·(1 − done)·min(Q_k^target, Q_k)(s′, a′_k),
//     a′ = clip(actor(s′) + clip(N(0, σ), ±c), 0, 1);
//   MSE critic loss, Adam; soft target updates θ′ ← τθ + (1 − τ)θ′ every
//   `soft_update_every` critic updates.
// - The schedule: `pretrain_epochs` with equal weights; then the replay
//   buffer is filled with the actor's (noisy) actions over the training split
//   and the critics are trained (`warmup_steps`); then every training step
//   stores the batch's transitions and trains the actor with per-sample
//   weights w_k = 1 − λ·Q_k(s, ŷ_k), Q detached (so w_k ≥ 1), and every
//   `critic_every`-th step updates the critics once. Unlike the published
//   code, the actor is updated in that loop and the buffer follows the
//   current actor.
// - The cost: a weighted epoch is an equal-weight epoch plus the critics'
//   forwards on the batch and the critic updates, whose GEMMs dominate.
//   Hence small critics, updates on every `critic_every`-th step, and no
//   forward at s′ for final transitions (critic_targets); see
//   benchmarks/mtl/rmtl_epoch.py and docs/RESULTS-mtl.md.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <memory>
#include <vector>

#include "models/mtl/mtl_model.h"
#include "models/mtl/weighting.h"

namespace losscc::models::mtl {

class CriticImpl : public torch::nn::Module {
 public:
  CriticImpl(const ModelShape& shape, const std::vector<int64_t>& bottom, const std::vector<int64_t>& tower);
  // categorical [n, F], numerical [n, D], action [n] → Q [n], ≤ 0.
  at::Tensor forward(const at::Tensor& categorical, const at::Tensor& numerical, const at::Tensor& action);
  FeatureEmbedding input{nullptr};
  torch::nn::Linear action_layer{nullptr};
  torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(Critic);

// r + γ·(1 − done)·min(q_target_next, q_next), elementwise.
at::Tensor td_targets(const at::Tensor& reward, const at::Tensor& done, const at::Tensor& q_target_next,
                      const at::Tensor& q_next, double gamma);
// Every critic's TD target for a replay batch (rows' next rows `next`, `done`
// [n], rewards [n, tasks], target-action smoothing [n, tasks]): r on a final
// transition, td_targets(...) on the others with the actor's next action
// a′ = clip(actor(s′) + smoothing, 0, 1). Only the rows that go on are
// evaluated at s′: none of census's one-row episodes, whose critic updates
// then cost no actor or target forward. Puts every network in eval mode.
std::vector<at::Tensor> critic_targets(MtlModel& actor, std::vector<Critic>& critics, std::vector<Critic>& targets,
                                      const MtlRows& train, const at::Tensor& next, const at::Tensor& done,
                                      const at::Tensor& rewards, const at::Tensor& smoothing, double gamma);
// 1 − λ·q, detached.
at::Tensor rmtl_weights(const at::Tensor& q, double lambda);
// y·log(a) + (1 − y)·log(1 − a), a clipped to [1e-4, 1 − 1e-4].
at::Tensor bce_reward(const at::Tensor& action, const at::Tensor& label);
// θ_target ← τ·θ + (1 − τ)·θ_target for every parameter (buffers are copied).
void soft_update(torch::nn::Module& target, const torch::nn::Module& source, double tau);

std::unique_ptr<Weighting> make_rmtl_weighting(const RmtlConfig& config, uint64_t seed, MtlModel& model,
                                               int64_t tasks);

}  // namespace losscc::models::mtl
