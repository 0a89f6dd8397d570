// Searching the loss of a multi-task model, in one of two settings.
//
// The whole multi-task loss (the default, `--task mtl`): a candidate is one
// program over every task's prediction and label giving the total per-sample
// loss (the multi-task space of search_space.h), trained with equal weights,
// so per-task transformations, cross-task terms and closed-form per-sample
// weights are all the candidate's. The reward is the best mean validation
// AUC over the tasks of a fit from scratch (the epoch the trainer selects);
// the effectiveness test reports the mean test AUC there, and every task's.
//
// One task's loss (`--target TASK`, RMTL's setting): the candidate is that
// task's `.loss`, the other tasks keep theirs (bce unless given), and the
// reward is the searched task's best validation AUC over the fit's epochs,
// so the search ranks a task loss by what it does for its own task; the
// effectiveness test reports that task's test AUC at the same epoch. Its
// candidates are pointwise losses, compared with the recommender's classic
// ones.
//
// The search runs either as MtlTask (task.h).
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
  std::string task;                          // whose loss is searched; empty: the whole multi-task loss
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

// One fit from scratch of `config.model` with one loss per task (or one
// program over every task), config.weighting, the model and batch order from
// `seed`, at most `epochs` epochs, patience `patience`. Throws
// models::NonFiniteLoss when training diverges. Thread-safe.
models::mtl::MtlTrainer::FitResult fit_multi_task(const models::mtl::MtlDataset& data, const MtlTaskConfig& config,
                                                  const std::vector<LossFunction>& losses, uint64_t seed, int epochs,
                                                  int patience);

// One fit from scratch with `candidate` as the task's loss (model and batch
// order from `seed`, at most `epochs` epochs, patience `patience`).
// `json`: valid/test AUC and logloss of the task, best_epoch, epochs,
// seconds, and the other tasks' test AUC at that epoch. Throws
// models::NonFiniteLoss when training diverges. Thread-safe.
EffectFit fit_task_from_scratch(const models::mtl::MtlDataset& data, const MtlTaskConfig& config,
                                const LossFunction& candidate, uint64_t seed, int epochs, int patience);

// One fit from scratch with `program` as the whole multi-task loss, equal
// weights. `valid`/`test`: the mean AUC over tasks (weighted by
// config.train.auc_weights when given) at the epoch of the best such mean
// validation AUC; `json`: valid/test {auc: that mean, per_task: every
// task's AUC and logloss there}, best_epoch, epochs, seconds. Throws models::NonFiniteLoss when training
// diverges. Thread-safe.
EffectFit fit_program_from_scratch(const models::mtl::MtlDataset& data, const MtlTaskConfig& config,
                                   const LossFunction& program, uint64_t seed, int epochs, int patience);

class MtlTask : public SearchTask {
 public:
  // `data` must outlive the task. Throws std::invalid_argument for a task
  // the data does not have.
  MtlTask(const models::mtl::MtlDataset& data, MtlTaskConfig config);

  std::string name() const override { return "mtl"; }
  std::string reward_name() const override { return whole_program() ? "mean validation AUC" : "validation AUC"; }
  int multi_task_space() const override { return whole_program() ? static_cast<int>(data_.num_tasks()) : 0; }
  nlohmann::json identity() const override;
  // fit_program_from_scratch() (fit_task_from_scratch() for one task's loss)
  // from config.seed with the reward fits' epochs and patience.
  TrainOutcome reward(const LossFunction& fn, const WorkItem& item) const override;

  // The whole loss: the two-task programs of examples/ (mtl_equal, mtl_fixed,
  // mtl_chain, mtl_rmtl_closed_form), for data of two tasks; one task's: the
  // classic pointwise losses.
  std::vector<NamedLoss> baselines(const std::string& examples_dir) const override;
  // As reward(), with config.train's epochs and patience.
  nlohmann::json effectiveness(const std::vector<NamedLoss>& losses, uint64_t seed, int seeds, int workers,
                               const EffectProgress& progress, const std::atomic<bool>& interrupt) const override;
  // The whole loss: the mean AUC's columns, then each task's test AUC and
  // logloss (means over the seeds); one task's: the recommender's table.
  std::string format_table(const nlohmann::json& rows) const override;

 private:
  bool whole_program() const { return config_.task.empty(); }
  EffectFit fit(const LossFunction& fn, uint64_t seed, int epochs, int patience) const;

  const models::mtl::MtlDataset& data_;
  MtlTaskConfig config_;
};

}  // namespace losscc::search
