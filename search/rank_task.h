// Searching a ranking loss: the candidate trains a fresh scorer (linear or
// MLP, models/ltr) from scratch on one LETOR fold, and the reward is its best
// validation NDCG@10 (standard convention); the effectiveness test fits each
// loss to convergence and reports NDCG on the test split.
//
// Its candidates live in the ranking space (search_space.h), masked by list
// signatures (list_signature.h). The classic losses it is compared with: rank_mse, ranknet,
// rank_hinge, lambdarank, listnet, listmle, approx_ndcg.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/ltr/ltr_trainer.h"
#include "search/task.h"

namespace losscc::search {

struct RankTaskConfig {
  std::string model = "mlp";              // models::ltr::scorer_kinds()
  models::ltr::ScorerShape shape;         // dims come from the data
  models::ltr::LtrTrainConfig train;      // the effectiveness fits' epochs and patience; seed: the reward fits'
  int reward_epochs = 20, reward_patience = 5;
  // > 0: the reward fits train on the training queries less this fraction of
  // them (drawn with train.seed), which are their validation: the finalists'
  // selection and the effectiveness test then read validation queries the
  // search's reward never did.
  double reward_holdout = 0;
};

// One fit from scratch of a `config.model` scorer from `seed` (initialisation
// and query order) with `fn`, at most `epochs` epochs, patience `patience`.
// Throws models::NonFiniteLoss when training diverges. Thread-safe.
models::ltr::LtrTrainer::FitResult fit_ranker(const models::ltr::LtrDataset& data, const RankTaskConfig& config,
                                              const LossFunction& fn, int epochs, int patience, uint64_t seed);

class RankTask : public SearchTask {
 public:
  // `data` must outlive the task. Throws std::invalid_argument for a
  // reward_holdout that leaves a part without a query.
  RankTask(const models::ltr::LtrDataset& data, RankTaskConfig config);

  std::string name() const override { return "rank"; }
  std::string reward_name() const override {
    return config_.reward_holdout > 0 ? "NDCG@10 on held-out training queries" : "validation NDCG@10";
  }
  bool ranking_space() const override { return true; }
  nlohmann::json identity() const override;
  // fit_ranker() with the reward fits' epochs and patience from
  // config.train.seed; the reward is the validation NDCG@10 (standard
  // convention) at the best epoch, on reward_data().
  TrainOutcome reward(const LossFunction& fn, const WorkItem& item) const override;

  std::vector<NamedLoss> baselines(const std::string& examples_dir) const override;
  // fit_ranker() to convergence, metric "ndcg@10"; each fit's json is the
  // trainer's result without its history.
  nlohmann::json effectiveness(const std::vector<NamedLoss>& losses, uint64_t seed, int seeds, int workers,
                               const EffectProgress& progress, const std::atomic<bool>& interrupt) const override;
  std::string metric() const override { return "ndcg@10"; }
  std::string format_row(const nlohmann::json& row) const override;
  std::string format_table(const nlohmann::json& rows) const override;

  // What the reward fits train and validate on: the data, or with
  // reward_holdout its training queries split in two (test: the held part).
  const models::ltr::LtrDataset& reward_data() const { return config_.reward_holdout > 0 ? reward_data_ : data_; }

 private:
  const models::ltr::LtrDataset& data_;
  RankTaskConfig config_;
  models::ltr::LtrDataset reward_data_;
};

}  // namespace losscc::search
