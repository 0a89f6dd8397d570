// The multi-task training loop: one model, the fused task losses
// (task_loss.h) and one weighting method (weighting.h), Adam with weight
// decay (RMTL's and MTReclib's optimiser), the training rows reshuffled every
// epoch. After every epoch the validation and test metrics are computed; fit()
// stops once the best mean validation AUC is `patience` epochs old and leaves
// the model at (and reports) that epoch. For rmtl, model selection starts
// after the equal-weight pretraining epochs, so the reported model is one the
// critics weighted (when patience allows the fine-tuning to run at all).
//
// Determinism: the model is created from `seed` (make_mtl_model), the batch
// order and the weighting's noise come from generators seeded with it, so on
// the CPU two runs with the same config, data and thread count give the same
// numbers.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/optim/adam.h>

#include "models/mtl/mtl_metrics.h"
#include "models/mtl/mtl_model.h"
#include "models/mtl/task_loss.h"
#include "models/mtl/weighting.h"
#include "models/errors.h"

namespace losscc::models::mtl {

struct MtlTrainConfig {
  double lr = 1e-3;
  double weight_decay = 1e-6;
  int64_t batch = 1024;
  int epochs = 10;
  int patience = 2;  // stop when the best mean validation AUC is this many epochs old
  // Model selection's mean AUC weighs task k's by auc_weights[k] (empty: the
  // plain mean; else one non-negative weight per task, not all 0).
  std::vector<double> auc_weights;
  uint64_t seed = 1;
  double prob_clip = 1e-7;
  nlohmann::json to_json() const;
};

class MtlTrainer {
 public:
  // `task_losses`: one per task of `data` (empty: bce for every task).
  MtlTrainer(std::shared_ptr<MtlModel> model, const MtlDataset& data, const std::vector<LossFunction>& task_losses,
             const WeightingConfig& weighting, MtlTrainConfig config);
  ~MtlTrainer();

  struct EpochLog {
    int epoch;  // 1-based
    std::vector<double> train_loss;  // mean unweighted loss per task
    MtlMetrics valid, test;
    nlohmann::json weighting;  // the method's state at the epoch's end
    double seconds;            // training and evaluating this epoch
    double train_seconds;      // training alone
  };
  struct FitResult {
    MtlMetrics valid, test;  // at the best validation epoch
    int best_epoch = 0;
    int epochs = 0;
    double seconds = 0;
    std::vector<EpochLog> history;
    nlohmann::json to_json(const std::vector<std::string>& tasks) const;
  };
  FitResult fit(const std::function<void(const EpochLog&)>& on_epoch = {});
  // One pass over the training rows; returns the mean loss per task.
  std::vector<double> train_epoch(int epoch);

  MtlModel& model() { return *model_; }
  const MultiTaskLoss& loss() const { return loss_; }
  Weighting& weighting() { return *weighting_; }

 private:
  std::vector<double> step(int epoch, const at::Tensor& rows);

  std::shared_ptr<MtlModel> model_;
  const MtlDataset& data_;
  MultiTaskLoss loss_;
  WeightingConfig weighting_config_;
  std::unique_ptr<Weighting> weighting_;
  MtlTrainConfig config_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  std::mt19937_64 rng_;
};

}  // namespace losscc::models::mtl
