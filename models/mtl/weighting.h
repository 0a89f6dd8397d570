// How the task losses are weighted: a strategy chosen at run time, all of them
// driven by the same training loop (mtl_trainer.h) so they compare in one run.
//
//   equal     w_k = 1
//   fixed     w_k = the given values
//   uw        uncertainty weighting (Kendall, Gal, Cipolla, CVPR 2018) with
//             learned log-variances s_k, trained with the model:
//             Σ_k ½·exp(−s_k)·L_k + ½·s_k   (w_k = ½·exp(−s_k), s_k = 0 at start)
//   gradnorm  GradNorm (Chen et al., ICML 2018): G_k = w_k·‖∇_W L_k‖ over the
//             model's last shared layer W; L_grad = Σ_k |G_k − mean(G)·r_k^α| with
//             r_k = (L_k/L_k(0)) / mean_j(L_j/L_j(0)), the target held constant;
//             w ← w − lr·∂L_grad/∂w each step, then renormalised to Σ w = K
//   dwa       dynamic weight average (Liu, Johns, Davison, CVPR 2019):
//             w_k = K·softmax_k(r_k / T), r_k = L_k(e−1)/L_k(e−2) from the mean
//             training losses of the last two epochs; 1 for the first two
//   rmtl      RMTL's per-sample critic weights (rmtl.h)
//
// The training objective is the fused task loss (task_loss.h) with the
// weights these give, (1/K)·mean_i Σ_k w_k[i]·ℓ_k[i], plus a method's own term.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/mtl/data.h"
#include "models/mtl/mtl_model.h"
#include "models/mtl/task_loss.h"

namespace losscc::models::mtl {

struct RmtlConfig {
  double lambda = 0.7;      // w_k = 1 − λ·Q_k
  double gamma = 0.95;      // discount
  double tau = 0.2;         // soft target update
  int pretrain_epochs = 1;  // equal-weight epochs before the critics take over
  int soft_update_every = 2;       // critic updates per soft target update
  int critic_every = 2;            // actor steps per critic update
  int64_t warmup_steps = 0;        // critic updates before fine-tuning; 0: one pass over train
  int64_t buffer = 500000;         // replay buffer capacity (transitions)
  int64_t critic_batch = 0;        // transitions per critic update; 0: the training batch size
  double critic_lr = 1e-3;
  double critic_weight_decay = 1e-6;
  double explore_noise = 0.1;      // std of the noise on stored actions
  double target_noise = 0.05;      // std of the TD3 target-action noise ...
  double target_noise_clip = 0.1;  // ... clipped to ±this
  // Empty: one bottom layer of the model's last bottom size, the model's tower.
  std::vector<int64_t> critic_bottom, critic_tower;
  nlohmann::json to_json() const;
};

struct WeightingConfig {
  std::string method = "equal";
  std::vector<double> fixed;  // `fixed`: one weight per task
  double gradnorm_alpha = 1.5;
  double gradnorm_lr = 0.025;
  double dwa_temperature = 2;
  RmtlConfig rmtl;
  uint64_t seed = 1;  // noise and replay sampling (rmtl)
  nlohmann::json to_json() const;
};

// The method names WeightingConfig::method accepts, in the order --help lists them.
const std::vector<std::string>& weighting_methods();

// One training step as a weighting method sees it.
struct Step {
  MtlModel& model;
  const MtlRows& train;     // the whole training split
  const at::Tensor& rows;   // int64 [n]: this batch's rows of `train`
  const MtlRows& batch;
  const MtlOutput& out;     // the model's outputs on the batch (train mode)
  const MultiTaskLoss& loss;
  int epoch;                // 1-based
};

class Weighting {
 public:
  virtual ~Weighting() = default;
  // The weights [n, K] for this batch (they may require grad) and an extra
  // term for the objective (undefined for none).
  struct Terms {
    at::Tensor weights;
    at::Tensor extra;
  };
  virtual Terms terms(const Step& step) = 0;
  // Parameters trained by the model's optimiser alongside the model.
  virtual std::vector<at::Tensor> parameters() { return {}; }
  virtual void begin_epoch(int /*epoch*/, MtlModel& /*model*/, const MtlRows& /*train*/) {}
  // After the optimiser step, with the batch's per-sample task losses [n, K].
  virtual void after_step(const Step& /*step*/, const at::Tensor& /*task_losses*/) {}
  // The mean training loss of every task over the epoch that ended.
  virtual void end_epoch(const std::vector<double>& /*task_losses*/) {}
  // The current task weights (their batch mean for per-sample methods) and
  // anything else worth logging.
  virtual nlohmann::json state() const = 0;
};

// Throws std::invalid_argument for an unknown method or bad settings (fixed
// weights of the wrong count, gradnorm on a model with no shared layer).
std::unique_ptr<Weighting> make_weighting(const WeightingConfig& config, MtlModel& model, int64_t tasks);

// The GradNorm step on the weights alone, as the paper defines it: given the
// current weights w, the gradient norms g_k = ‖∇_W L_k‖ and the loss ratios
// L_k/L_k(0), returns the renormalised weights after one descent step of
// size lr on L_grad. Exposed for tests.
std::vector<double> gradnorm_update(const std::vector<double>& w, const std::vector<double>& grad_norms,
                                    const std::vector<double>& loss_ratios, double alpha, double lr);
// DWA's weights from the mean task losses of the last two epochs.
std::vector<double> dwa_weights(const std::vector<double>& previous, const std::vector<double>& before_previous,
                                double temperature);

}  // namespace losscc::models::mtl
