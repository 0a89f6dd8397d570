// Searching a ranking loss: the candidate trains a fresh scorer (linear or
// MLP, models/ltr) from scratch on one LETOR fold, and the reward is its best
// validation NDCG@10 (standard convention); the effectiveness test fits each
// loss to convergence and reports NDCG on the test split.
//
// The search loop is the recommender search's (search.h): LossSearch takes
// rank_task_trainer() as its candidate trainer, as it takes mtl_task_trainer()
// for a task of a multi-task model.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/effectiveness.h"
#include "controller/evaluator.h"
#include "models/ltr/ltr_trainer.h"

namespace losscc::search {

struct RankTaskConfig {
  std::string model = "mlp";              // models::ltr::scorer_kinds()
  models::ltr::ScorerShape shape;         // dims come from the data
  models::ltr::LtrTrainConfig train;      // the effectiveness fits' epochs and patience; seed: every fit's
  int reward_epochs = 20, reward_patience = 5;
  // What the rewards train on, for the checkpoint's identity.
  nlohmann::json identity(const std::string& data_name) const;
};

// One fit from scratch of a `config.model` scorer from `seed` (initialisation
// and query order) with `fn`, at most `epochs` epochs, patience `patience`.
// Throws models::NonFiniteLoss when training diverges. Thread-safe.
models::ltr::LtrTrainer::FitResult fit_ranker(const models::ltr::LtrDataset& data, const RankTaskConfig& config,
                                              const LossFunction& fn, int epochs, int patience, uint64_t seed);

// The search's candidate trainer: fit_ranker() with the reward fits' epochs
// and patience from config.train.seed; the reward is the validation NDCG@10
// at the best epoch. `data` and `config` must outlive it.
CandidateTrainer rank_task_trainer(const models::ltr::LtrDataset& data, const RankTaskConfig& config);

// The effectiveness test of ranking losses: effectiveness_rows() of
// fit_ranker() to convergence, metric "ndcg@10"; each fit's json is the
// trainer's result without its history.
nlohmann::json rank_task_effectiveness(const models::ltr::LtrDataset& data, const RankTaskConfig& config,
                                       const std::vector<NamedLoss>& losses, uint64_t seed, int seeds,
                                       const EffectProgress& progress, const std::atomic<bool>& interrupt);

}  // namespace losscc::search
