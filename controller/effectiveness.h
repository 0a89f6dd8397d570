// The effectiveness test (AutoLossGen, section 5): each found loss and each
// baseline loss trains a fresh recommender from scratch to convergence
// (early stopping on validation AUC) once per seed, and all are compared on
// the test split in one table (mean and spread over the seeds). BiasedMF
// trains natively (models/native_mf.h), the other models with the Trainer.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "compiler/ir/loss_function.h"
#include "models/data/dataset.h"
#include "models/trainer.h"

namespace losscc::search {

struct NamedLoss {
  std::string name;    // "found-1", "bce", ...
  std::string origin;  // "search" or "baseline"
  std::string source;  // .loss text
  double search_reward = -1;  // validation AUC during the search; -1 for baselines
};

// The baselines: bce, mse, hinge, focal and AutoLossGen's maxr, sumr, logmin,
// read from `examples_dir`/<name>.loss. A missing file throws with its path.
std::vector<NamedLoss> baseline_losses(const std::string& examples_dir);

struct EffectivenessConfig {
  std::string model_kind = "biasedmf";
  uint64_t seed = 1;          // fit k uses seed + k (initial model and batch order)
  int seeds = 3;
  models::TrainConfig train;  // epochs caps each fit
};

// One from-scratch fit of `fn` (the search's reward fits and the
// effectiveness test share it). Throws models::NonFiniteLoss.
models::FitResult fit_from_scratch(const models::Dataset& data, const LossFunction& fn,
                                   const std::string& model_kind, uint64_t seed, const models::TrainConfig& train);

// One fit as the table shows it: `json` holds valid.auc, test.auc,
// test.logloss, best_epoch and seconds (test.rmse where the model has it);
// a ranking fit holds its NDCG figures instead. `valid` and `test` are the
// fit's figures of the metric effectiveness_rows() is told to average.
struct EffectFit {
  nlohmann::json json;
  double valid = 0, test = 0;
};
using EffectFitter = std::function<EffectFit(const LossFunction& fn, uint64_t seed)>;

// How the effectiveness test reports as it goes, since it can train for many
// minutes: `on_row` sees each row as it lands, and with `tool` set a line
// "[tool] effectiveness: fit 4/24, found-2 seed 1/3 | ETA 3.5 min" goes to
// stderr before each fit (the ETA is the mean fit so far times the fits left).
struct EffectProgress {
  std::string tool;
  std::function<void(const nlohmann::json& row)> on_row;
};

// One row per loss: its check report, then its fits by `fit` with seed,
// seed + 1, ... ("fits": one per seed; "fit": the first; test_M_mean /
// test_M_std / valid_M_mean over the seeds, M = `metric`) or the error that
// stopped it. `interrupt` is checked between losses.
nlohmann::json effectiveness_rows(const std::vector<NamedLoss>& losses, uint64_t seed, int seeds,
                                  const EffectFitter& fit, const EffectProgress& progress,
                                  const std::atomic<bool>& interrupt, const std::string& metric = "auc");

// effectiveness_rows() of from-scratch recommender fits (fit_from_scratch).
nlohmann::json effectiveness_test(const models::Dataset& data, const std::vector<NamedLoss>& losses,
                                  const EffectivenessConfig& config, const EffectProgress& progress,
                                  const std::atomic<bool>& interrupt);

// The rows as a fixed-width text table, best test AUC first.
std::string format_effectiveness_table(const nlohmann::json& rows);

}  // namespace losscc::search
