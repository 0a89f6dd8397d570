// Searching the loss of one task of a multi-task model (RMTL's setting): the
// candidate is that task's `.loss`, the other tasks keep theirs (bce unless
// given), and a fresh multi-task model trains with them from the configured
// seed. The reward is the searched task's best validation AUC over the fit's
// epochs, so the search ranks a task loss by what it does for its own task;
// the effectiveness test reports that task's test AUC at the same epoch.
//
// The search loop, the controller and the checkpoints are the recommender
// search's (search.h): LossSearch takes mtl_task_trainer() as its candidate
// trainer.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/effectiveness.h"
#include "controller/evaluator.h"
#include "models/mtl/mtl_trainer.h"

namespace losscc::search {

struct MtlTaskConfig {
  std::string task;                          // whose loss is searched
  std::string model = "mmoe";                // mtl_model_kinds()
  models::mtl::ModelShape shape;             // field sizes, features and tasks come from the data
  models::mtl::WeightingConfig weighting;    // equal by default
  models::mtl::MtlTrainConfig train;         // epochs and patience: the effectiveness fits'
  std::vector<LossFunction> task_losses;     // one per task; the searched task's entry is replaced
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

// The search's candidate trainer: fit_task_from_scratch() from `seed` with
// the reward fits' epochs and patience; the reward is the validation AUC.
// `data` and `config` must outlive it.
CandidateTrainer mtl_task_trainer(const models::mtl::MtlDataset& data, const MtlTaskConfig& config, uint64_t seed,
                                  int epochs, int patience);

// The effectiveness test of task losses: effectiveness_rows() of
// fit_task_from_scratch() with config.train's epochs and patience.
nlohmann::json mtl_task_effectiveness(const models::mtl::MtlDataset& data, const MtlTaskConfig& config,
                                      const std::vector<NamedLoss>& losses, uint64_t seed, int seeds,
                                      const EffectProgress& progress, const std::atomic<bool>& interrupt);

}  // namespace losscc::search
