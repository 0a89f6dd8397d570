// Choosing the found losses from the search's best. The search ranks a
// candidate by one short fit, and two kinds of loss rank too high there:
// one that peaks in the first epochs and trains unstably (a lucky seed
// looks like a strong loss), and one that differs in form from a better one
// but trains alike (2·mse beside mse under Adam), which takes a second
// slot in the top-k. So the finalists (the search's best distinct losses,
// best first) train again on the effectiveness test's protocol (to
// convergence, early stopping on validation) from `seeds` seeds of their
// own, and only their validation results are read:
//
//   - a finalist whose per-seed validation results all equal a better-ranked
//     finalist's within `same_tolerance` trains the same way and is dropped;
//   - one whose fits fail (a non-finite loss) is dropped;
//   - the rest are ranked by mean − standard deviation over the seeds, so a
//     stable loss beats a lucky one, and the first `top_k` are the found
//     losses.
//
// The seeds are the fit seed + kSelectionSeedOffset + 0, 1, ...: apart from
// the effectiveness test's, so the test's seeds are not the ones a loss was
// chosen on. With seeds = 0 there is no selection: the finalists' first
// top_k, in the search's order.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/effectiveness.h"
#include "search/task.h"

namespace losscc::search {

constexpr uint64_t kSelectionSeedOffset = 1000;

struct SelectionConfig {
  int seeds = 3;           // fits per finalist; 0: no selection
  int top_k = 5;           // found losses chosen
  double same_tolerance = 1e-4;  // per-seed validation results this close: the same training
  uint64_t fit_seed = 1;   // the search's fit seed (the selection adds kSelectionSeedOffset)
  int workers = 1;
};

struct Selection {
  std::vector<FoundLoss> chosen;  // best first
  // One row per finalist, in the search's order: id, source, search_reward,
  // valid_M_per_seed / _mean / _std, score, and "rank" (1-based, among the
  // kept) or "dropped" (why). Empty without a selection.
  nlohmann::json rows = nlohmann::json::array();
};

// `finalists` best first, as LossSearch::top() holds them. Progress and
// interruption as in the effectiveness test; an interrupted selection keeps
// the finalists' order for the losses it did not finish.
Selection select_found(const SearchTask& task, const std::vector<FoundLoss>& finalists, const SelectionConfig& config,
                       const EffectProgress& progress, const std::atomic<bool>& interrupt);

// The rows as a text table, the chosen first.
std::string format_selection_table(const nlohmann::json& rows, const std::string& metric);

}  // namespace losscc::search
