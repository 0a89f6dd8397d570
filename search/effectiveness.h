// The effectiveness test (AutoLossGen, section 5): each found loss and each
// baseline loss trains a fresh model from scratch to convergence (early
// stopping on the validation metric) once per seed, and all are compared on
// the test split in one table (mean and spread over the seeds). How a loss
// is fitted is the task family's (task.h); the rows, the progress lines and
// the AUC table are shared here.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "compiler/ir/loss_function.h"

namespace losscc::search {

struct NamedLoss {
  std::string name;    // "found-1", "bce", ...
  std::string origin;  // "search", "baseline", or "given" (losssearch --compare)
  std::string source;  // .loss text
  double search_reward = -1;  // the search's reward; -1 for baselines
};

// The losses `names` from `examples_dir`/<name>.loss, as baselines. A
// missing file throws with its path (and says --examples sets the folder).
std::vector<NamedLoss> example_losses(const std::string& examples_dir, const std::vector<std::string>& names);

// The .loss files a user gives (losssearch --compare), named by their stems
// (a repeated stem gets a suffix), origin "given". A file that cannot be
// read or does not parse is a CompileError naming it (and the line and column).
std::vector<NamedLoss> given_losses(const std::vector<std::string>& files);

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
// stderr before each fit (the ETA: the mean fit so far times the fits left,
// over the workers).
struct EffectProgress {
  std::string tool;
  std::function<void(const nlohmann::json& row)> on_row;
  std::string stage = "effectiveness";  // what the line calls the fits (the selection's are "selection")
};

// One row per loss: its check report, then its fits by `fit` with seed,
// seed + 1, ... ("fits": one per seed; "fit": the first; test_M_per_seed,
// test_M_mean, test_M_std and the same of valid_M, M = `metric`) or
// the error that stopped it (the first failing seed's). The fits run on
// `workers` threads (`fit` must be safe to call concurrently, as a reward
// is); every fit is seeded on its own, so the rows do not depend on
// `workers`. `interrupt` is checked between fits; the rows of losses whose
// fits did not all finish are left out.
nlohmann::json effectiveness_rows(const std::vector<NamedLoss>& losses, uint64_t seed, int seeds, int workers,
                                  const EffectFitter& fit, const EffectProgress& progress,
                                  const std::atomic<bool>& interrupt, const std::string& metric = "auc");

// Every found or given loss (a row of origin other than "baseline") against
// every baseline, paired by seed (paired.h), on the rows' test_M_per_seed:
// [{found, baseline, metric, n, mean_diff, ci, confidence, wilcoxon_p}].
// Rows without fits are left out.
nlohmann::json paired_comparisons(const nlohmann::json& rows, const std::string& metric);
// The width of a text table's name column: the longest string under `key`
// in `rows`, at least `at_least`.
size_t name_width(const nlohmann::json& rows, const std::string& key, size_t at_least);
// Those comparisons as a text table.
std::string format_paired_table(const nlohmann::json& comparisons);

// A row of AUC fits as one line ("bce   test AUC 0.7512 ± 0.0031"), or its error.
std::string format_auc_row(const nlohmann::json& row);

// The rows of a table by mean test AUC (test_auc_mean), best first; a row
// without a fit (an error) after every fitted one, in its place.
std::vector<const nlohmann::json*> by_test_auc(const nlohmann::json& rows);
// The line of a table for a row whose fit failed: its name, origin and error.
std::string format_error_row(const nlohmann::json& row, size_t width);

// Rows of AUC fits (valid.auc, test.auc, test.logloss, best_epoch, seconds;
// test.rmse where the model has it) as a fixed-width text table, best test
// AUC first.
std::string format_effectiveness_table(const nlohmann::json& rows);

}  // namespace losscc::search
