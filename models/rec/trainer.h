// The training loop a candidate loss is judged by: AutoLossGen's reference
// protocol, each of its choices a TrainConfig field with the reference value
// as default.
//
// One optimisation step on a minibatch minimises
//
//   loss(model output, label)  +  l2 · Σ_p ‖p‖²      (l2_in_loss)
//
// where `loss` is the candidate LossFunction (compiled once, see
// runtime/torch/compiled_loss.h) reduced as it says (mean by default) over the
// batch, with the optimiser's own weight decay also set to l2 (weight_decay):
// the reference applies both. Gradient elements are clamped to ±grad_clip
// before the step. Training rows are reshuffled at every epoch; after every
// epoch the validation and test metrics are computed over every row of those
// splits, and fit() stops once the best validation AUC is `patience` epochs
// old, leaving the model at (and reporting) its best validation epoch.
//
// The loss's inputs are bound by role: the Prediction input gets the model's
// probability when its domain is `prob`, the raw score when it is `real`, and
// what `loss_input` says for any other domain; the Label input gets the 0/1
// label (see prob_clip). Other roles (pairwise pos/neg, other) are rejected at construction.
//
// Determinism: the model is created from a seed (make_model) and the batches
// come from this trainer's own generator seeded with `seed`, so on the CPU
// two runs with the same config, data and LibTorch thread count give the same
// numbers (LibTorch's reductions may group differently across thread counts).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/optim/optimizer.h>

#include "compiler/ir/loss_function.h"
#include "models/rec/data/dataset.h"
#include "models/metrics.h"
#include "models/errors.h"
#include "models/rec/rec_model.h"
#include "runtime/torch/compiled_loss.h"

namespace losscc::models {

struct TrainConfig {
  std::string optimizer = "gd";  // "gd" (SGD), "adagrad", "adam"
  double lr = 0.01;
  double l2 = 1e-4;
  int64_t batch = 128;
  int epochs = 100;
  int patience = 100;  // stop when the best validation AUC is this many epochs old
  uint64_t seed = 1;   // batch order
  bool l2_in_loss = true;     // add l2 · Σ p² to the training loss
  bool weight_decay = true;   // also give the optimiser weight_decay = l2
  double grad_clip = 50;      // clamp every gradient element to ±grad_clip; 0: off
  bool shuffle = true;        // reshuffle the training rows every epoch
  std::string loss_input = "prob";  // "prob" | "score": the Prediction input when its domain does not decide
  // The probability fed to the loss is clamped to [prob_clip, 1 - prob_clip]
  // (0: off). A 64-d N(0,1) model saturates sigmoid() to exactly 0 or 1 in
  // float, where a plain log loss is inf or 0·inf = NaN; the reference's
  // BCELoss clamps its log at -100 for the same reason. The clamp passes no
  // gradient where it bites, as the saturated sigmoid passes none anyway.
  double prob_clip = 1e-7;
  nlohmann::json to_json() const;
};

// The optimiser names TrainConfig::optimizer accepts.
const std::vector<std::string>& optimizer_names();

// The reduced batch loss from its inputs (one tensor per LossFunction input,
// in declaration order), differentiable by LibTorch autograd.
using BatchLoss = std::function<at::Tensor(const std::vector<at::Tensor>&)>;

// What feeds each input of the loss, by role: the Prediction input gets the
// (clamped) probability or the raw score, the Label input the 0/1 label.
// Throws std::invalid_argument for a bad config, a role a pointwise trainer
// cannot feed, or a loss without a prediction. Every trainer binds this way.
enum class LossSource { Prob, Score, Label };
std::vector<LossSource> bind_loss_inputs(const LossFunction& loss, const TrainConfig& config);

// An epoch's row order: 0..rows-1, Fisher-Yates shuffled with `rng` when
// `shuffle` (our own draw, so the order is the same on every platform).
std::vector<int64_t> epoch_order(int64_t rows, bool shuffle, std::mt19937_64& rng);

struct EpochLog {
  int epoch;  // 1-based
  double train_loss;
  Metrics valid, test;
  double seconds;  // training and evaluating this epoch
};
struct FitResult {
  Metrics valid, test;  // at the best validation-AUC epoch
  int best_epoch = 0;
  int epochs = 0;  // epochs run
  double seconds = 0;
  std::vector<EpochLog> history;
  nlohmann::json to_json() const;
};

// The epoch loop every trainer shares: train an epoch, score the validation
// and test rows, keep the state of the best validation AUC (a NaN AUC never
// counts as best), stop once that is `config.patience` epochs old, and end
// with the best state restored.
struct FitHooks {
  std::function<double()> train_epoch;  // returns the mean batch loss
  std::function<Metrics(const Interactions&)> evaluate;
  std::function<void()> save_best;
  std::function<void()> restore_best;  // called once at the end when an epoch was best
};
FitResult fit_epochs(const TrainConfig& config, const Dataset& data, const FitHooks& hooks,
                     const std::function<void(const EpochLog&)>& on_epoch);

class Trainer {
 public:
  // Trains with `loss` compiled (a CompiledLoss). Throws std::invalid_argument
  // for a bad config or a loss whose inputs the model cannot feed.
  Trainer(std::shared_ptr<RecModel> model, const LossFunction& loss, TrainConfig config);
  // The same, but `batch_loss` computes the loss; `loss` only says how the
  // inputs bind. For comparing the compiled loss with LibTorch ops.
  Trainer(std::shared_ptr<RecModel> model, const LossFunction& loss, TrainConfig config,
          BatchLoss batch_loss);
  ~Trainer();

  // Runs `steps` minibatches, continuing through the current shuffled epoch
  // order and reshuffling at each epoch end; returns the mean batch loss (the
  // candidate loss alone, without the l2 term). Throws NonFiniteLoss.
  double train_steps(const Interactions& train, int64_t steps);
  // Runs the minibatches up to the end of the current epoch (a whole new
  // epoch when none is in progress); returns the mean batch loss.
  double train_epoch(const Interactions& train);

  using EpochLog = models::EpochLog;
  using FitResult = models::FitResult;
  FitResult fit(const Dataset& data, const std::function<void(const EpochLog&)>& on_epoch = {});

  RecModel& model();
  const TrainConfig& config() const { return config_; }

 private:
  double step(const Interactions& batch);
  void start_epoch(int64_t rows);

  std::shared_ptr<RecModel> model_;
  BatchLoss loss_;
  TrainConfig config_;
  std::vector<LossSource> sources_;  // what feeds each loss input
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::mt19937_64 rng_;
  at::Tensor order_;   // this epoch's row order
  int64_t cursor_ = 0;  // next position in order_
};

}  // namespace losscc::models
