// Searching the loss of one task of a multi-task model (RMTL's setting): the
// candidate is that task's `.loss`, the other tasks keep theirs (bce unless
// given), and a fresh multi-task model trains with them from the configured
// seed. The reward is the searched task's best validation AUC over the fit's
// epochs, so the search ranks a task loss by what it does for its own task;
// the effectiveness test reports that task's test AUC at the same epoch.
//
// The search runs it as MtlTask (task.h); its candidates are pointwise
// losses, compared with the recommender's classic ones.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/mtl/mtl_trainer.h"
#include "search/task.h"

namespace losscc::search {

struct MtlTaskConfig {
  std::string task;                          // whose loss is searched
  std::string model = "mmoe";                // mtl_model_kinds()
  models::mtl::ModelShape shape;             // field sizes, features and tasks come from the data
  models::mtl::WeightingConfig weighting;    // equal by default
  models::mtl::MtlTrainConfig train;         // epochs and patience: the effectiveness fits'
  std::vector<LossFunction> task_losses;     // one per task; the searched task's entry is replaced
  int reward_epochs = 4, reward_patience = 2;
  uint64_t seed = 1;                         // the reward fits' model and batch order
};

// The task's column in `data`. Throws std::invalid_argument naming the tasks.
int64_t task_column(const models::mtl::MtlDataset& data, const std::string& task);

// One fit from scratch with `candidate` as the task's loss (model and batch
// order from `seed`, at most `epochs` epochs, patience `patience`).
// `json`: valid/test AUC and logloss of the task, best_epoch, epochs,
// seconds, and the other tasks' test AUC at that epoch. Throws
// models::NonFiniteLoss when training diverges. Thread-safe.
EffectFit fit_task_from_scratch(const models::mtl::MtlDataset& data, const MtlTaskConfig& config,
                                const LossFunction& candidate, uint64_t seed, int epochs, int patience);

class MtlTask : public SearchTask {
 public:
  // `data` must outlive the task. Throws std::invalid_argument for a task
  // the data does not have.
  MtlTask(const models::mtl::MtlDataset& data, MtlTaskConfig config);

  std::string name() const override { return "mtl"; }
  std::string reward_name() const override { return "validation AUC"; }
  nlohmann::json identity() const override;
  // fit_task_from_scratch() from config.seed with the reward fits' epochs
  // and patience; the reward is the task's validation AUC.
  TrainOutcome reward(const LossFunction& fn, const WorkItem& item) const override;

  std::vector<NamedLoss> baselines(const std::string& examples_dir) const override;
  // fit_task_from_scratch() with config.train's epochs and patience.
  nlohmann::json effectiveness(const std::vector<NamedLoss>& losses, uint64_t seed, int seeds, int workers,
                               const EffectProgress& progress, const std::atomic<bool>& interrupt) const override;

 private:
  const models::mtl::MtlDataset& data_;
  MtlTaskConfig config_;
};

}  // namespace losscc::search
