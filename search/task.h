// A task family, as the search loop sees it: what a candidate loss is fitted
// on and how its reward is measured (recommendation: rec_task.h, ranking:
// rank_task.h, one task of a multi-task model: mtl_task.h). The loop
// (search.h) knows nothing else about the models or the data, and an
// executor (executor.h) carries a candidate to a task as a WorkItem, plain
// data that can travel to another thread or process.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/ir/loss_function.h"
#include "search/effectiveness.h"

namespace losscc::search {

// One candidate to fit: its simplified loss as .loss text and where it
// stands in the search (the shared reward trains a phase's candidates on the
// same batches).
struct WorkItem {
  int64_t id = 0;      // its line in candidates.jsonl
  std::string source;  // simplified .loss text
  int64_t phase = 0;
};

// What fitting one candidate produced. A non-finite reward rejects it.
struct TrainOutcome {
  double reward = 0;           // the task's validation metric of the fit
  double compile_seconds = 0;  // building the loss's kernel
  double train_seconds = 0;
};

// One of the best distinct trained losses.
struct FoundLoss {
  int64_t id = 0;  // its line in candidates.jsonl (0-based)
  double reward = 0;
  uint64_t hash = 0;
  std::string source;  // simplified, as .loss text
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(FoundLoss, id, reward, hash, source)

class SearchTask {
 public:
  virtual ~SearchTask() = default;

  // "rec", "rank", "mtl": summary.json and the checkpoint name it.
  virtual std::string name() const = 0;
  // What the reward measures, as best.loss and found-K.loss name it.
  virtual std::string reward_name() const = 0;
  // The token space of its candidates (search_space.h): the pointwise one,
  // the ranking one, or the multi-task one of multi_task_space() tasks (0:
  // not that space).
  virtual bool ranking_space() const { return false; }
  virtual int multi_task_space() const { return 0; }
  // What a checkpoint must agree on with the command that resumes it: the
  // data and everything that sets a reward.
  virtual nlohmann::json identity() const = 0;

  // One candidate's reward, from a fit of `fn` (the item's source, parsed).
  // Thread-safe: candidates fit on several workers at once, unless
  // max_workers() says otherwise. Throws models::NonFiniteLoss when the fit
  // diverges.
  virtual TrainOutcome reward(const LossFunction& fn, const WorkItem& item) const = 0;
  // The most candidates fitted at once; 0: as many as the executor has workers.
  virtual int max_workers() const { return 0; }

  // The effectiveness test: `losses` (found and baseline) trained to
  // convergence from seed, seed + 1, ... (`seeds` fits each, on `workers`
  // threads), one row each (effectiveness_rows()), and the rows as a table.
  virtual std::vector<NamedLoss> baselines(const std::string& examples_dir) const = 0;
  virtual nlohmann::json effectiveness(const std::vector<NamedLoss>& losses, uint64_t seed, int seeds, int workers,
                                       const EffectProgress& progress, const std::atomic<bool>& interrupt) const = 0;
  // The rows' metric key (test_<metric>_mean, ...): "auc", "ndcg@10".
  virtual std::string metric() const { return "auc"; }
  virtual std::string format_row(const nlohmann::json& row) const { return format_auc_row(row); }
  virtual std::string format_table(const nlohmann::json& rows) const { return format_effectiveness_table(rows); }
  // What summary.json records of the task: its settings and any result of
  // its own state.
  virtual nlohmann::json summary() const { return identity(); }

  // A task with state of its own (AutoLossGen's shared model): the loop
  // hands it each phase's best candidates, saves its state in every
  // checkpoint (files under `dir`, named in the returned JSON's "files") and
  // restores it on resume. model_phase() returns whether the phase changed
  // the state; nullopt: the task has no model phases.
  virtual std::optional<bool> model_phase(const std::vector<FoundLoss>& /*phase_best*/, int64_t /*phase*/) {
    return std::nullopt;
  }
  virtual nlohmann::json save_state(const std::string& /*dir*/) { return nlohmann::json::object(); }
  virtual void restore_state(const nlohmann::json& /*state*/, const std::string& /*dir*/) {}
  // Appended to the search's progress line.
  virtual std::string progress_note() const { return {}; }
};

// A task whose reward is the caller's function (tests, benchmarks): no
// baselines, and its effectiveness test fits nothing.
class FunctionTask : public SearchTask {
 public:
  using Reward = std::function<TrainOutcome(const LossFunction&)>;
  FunctionTask(std::string data_name, Reward reward, bool ranking = false)
      : data_name_(std::move(data_name)), reward_(std::move(reward)), ranking_(ranking) {}

  std::string name() const override { return "function"; }
  std::string reward_name() const override { return "reward"; }
  bool ranking_space() const override { return ranking_; }
  nlohmann::json identity() const override { return {{"data", data_name_}}; }
  TrainOutcome reward(const LossFunction& fn, const WorkItem&) const override { return reward_(fn); }
  std::vector<NamedLoss> baselines(const std::string&) const override { return {}; }
  nlohmann::json effectiveness(const std::vector<NamedLoss>&, uint64_t, int, int, const EffectProgress&,
                               const std::atomic<bool>&) const override {
    return nlohmann::json::array();
  }

 private:
  std::string data_name_;
  Reward reward_;
  bool ranking_;
};

}  // namespace losscc::search
