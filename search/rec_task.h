// Searching a recommender's loss (AutoLossGen): a candidate's reward is set
// by RecTaskConfig::reward:
//
//   scratch (default)  a fresh recommender, initialised from the fit seed,
//                      trains with the candidate for at most reward_epochs
//                      epochs (early stopping after reward_patience) and the
//                      reward is its best validation AUC: a short version of
//                      the effectiveness test, so the search ranks losses
//                      the way a from-scratch fit does. Both models train
//                      natively (models/rec/native_mf.h, native_deep.h).
//   shared             AutoLossGen's iterative-alternating schedule: a copy
//                      of the shared recommender trains candidate_steps
//                      minibatches; at the end of each phase a model phase
//                      trains the shared recommender one step (model_steps
//                      minibatches, or one epoch) with the phase's best
//                      candidate (one that lowers the validation AUC is
//                      rejected, the next best tried). One candidate at a
//                      time: the copies share the model.
//
// The effectiveness test trains each loss from scratch to convergence and
// compares test AUC with the classic losses (bce, mse, hinge, focal and
// AutoLossGen's maxr, sumr, logmin).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/rec/data/dataset.h"
#include "models/rec/rec_model.h"
#include "models/rec/trainer.h"
#include "search/task.h"

namespace losscc::search {

struct RecTaskConfig {
  std::string model = "biasedmf";  // models::model_kinds()
  std::string reward = "scratch";  // rec_reward_names()
  int reward_epochs = 4;           // scratch: most epochs of a reward fit
  int reward_patience = 2;         // scratch: early stopping of a reward fit
  int64_t candidate_steps = 50;    // shared: minibatches each candidate trains for
  int64_t model_steps = 0;         // shared: minibatches of a model phase; 0: one epoch
  uint64_t seed = 1;               // every fit's initial model and batch order
  // Every fit's optimiser and batch; epochs and patience: the effectiveness
  // fits' (a reward fit takes reward_epochs and reward_patience).
  models::TrainConfig train;
  bool shared_reward() const { return reward == "shared"; }
};

// The reward names RecTaskConfig::reward accepts: "scratch", "shared".
const std::vector<std::string>& rec_reward_names();

// One from-scratch fit of `fn` (the reward fits and the effectiveness test
// share it). Throws models::NonFiniteLoss.
models::FitResult fit_from_scratch(const models::Dataset& data, const LossFunction& fn,
                                   const std::string& model_kind, uint64_t seed, const models::TrainConfig& train);

// The "scratch" reward of one loss: its kernel built first (compile_seconds),
// then fit_from_scratch() with the reward fits' epochs and patience; the
// reward is the best validation AUC, NaN when that never was a number.
// Throws models::NonFiniteLoss. Thread-safe.
TrainOutcome scratch_reward(const models::Dataset& data, const LossFunction& fn, const RecTaskConfig& config);

class RecTask : public SearchTask {
 public:
  // `data` must outlive the task. Throws std::invalid_argument for an
  // unknown reward or model.
  RecTask(const models::Dataset& data, RecTaskConfig config);

  std::string name() const override { return "rec"; }
  std::string reward_name() const override { return "validation AUC"; }
  nlohmann::json identity() const override;
  nlohmann::json summary() const override;
  TrainOutcome reward(const LossFunction& fn, const WorkItem& item) const override;
  int max_workers() const override { return config_.shared_reward() ? 1 : 0; }

  std::vector<NamedLoss> baselines(const std::string& examples_dir) const override;
  nlohmann::json effectiveness(const std::vector<NamedLoss>& losses, uint64_t seed, int seeds, int workers,
                               const EffectProgress& progress, const std::atomic<bool>& interrupt) const override;

  std::optional<bool> model_phase(const std::vector<FoundLoss>& phase_best, int64_t phase) override;
  nlohmann::json save_state(const std::string& dir) override;
  void restore_state(const nlohmann::json& state, const std::string& dir) override;
  std::string progress_note() const override;

 private:
  TrainOutcome shared_reward(const LossFunction& fn, int64_t phase) const;

  const models::Dataset& data_;
  RecTaskConfig config_;
  std::shared_ptr<models::RecModel> shared_;  // the shared reward's model, else null
  double shared_auc_ = 0;
  int64_t model_version_ = 0, saved_model_version_ = -1;
};

}  // namespace losscc::search
