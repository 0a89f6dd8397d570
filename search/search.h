// The search loop, for any task family (task.h) and any executor
// (executor.h). Each round the searcher proposes `workers` candidates, the
// Evaluator screens them (validity, duplicates, the reward cache), the
// executor fits the rest, and the results are settled in proposal order:
// the searcher learns each outcome, each is recorded, and at the end of every
// phase (samples_per_phase() candidates) a task with state of its own gets
// its model phase. A checkpoint follows every round.
//
// run() drives the rounds on the search's own executor; a driver elsewhere
// (the Python module, a cluster) calls propose_round() and settle_round()
// itself, with the same outcome.
//
// Everything lands under `out_dir`:
//   candidates.jsonl  one line per candidate, appended and flushed as it is judged
//   checkpoint/       state.json (written atomically after every round) and
//                     the tensors it names (policy, optimiser, the task's
//                     state), written only when they change
//   best.loss         the best loss so far
// A kill at any moment loses at most the round in flight: a resumed search
// cuts candidates.jsonl back to what the checkpoint covers and continues from
// the checkpoint's RNG state, so the next candidates are the same ones.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/candidate_log.h"
#include "search/evaluator.h"
#include "search/executor.h"
#include "search/policy.h"
#include "search/reinforce.h"
#include "search/searcher.h"
#include "search/task.h"

namespace losscc::search {

struct SearchConfig {
  std::string searcher = "rl";  // searcher_names()
  int layers = 10;
  bool extended = false;        // the extended operator set
  bool batch_statistics = false;  // the multi-task space's batch-mean leaves
  uint64_t seed = 1;            // the searcher's

  // Budget: the search stops at whichever set limit it reaches first (0: unset).
  int64_t budget_candidates = 0;
  double budget_minutes = 0;

  int workers = 2;               // candidates proposed and fitted per round
  int controller_steps = 5;      // policy updates per phase
  int model_phase_tries = 3;     // best candidates of a phase handed to the task's model phase
  int top_k = 5;                 // best distinct losses kept (the finalists found losses are chosen from)

  PolicyConfig policy;
  ReinforceConfig reinforce;
  EvaluatorConfig evaluator;

  std::string out_dir = "search-out";
  double progress_seconds = 3;   // at most one progress line per this many seconds; 0: none

  int samples_per_phase() const { return reinforce.num_aggregate * controller_steps; }
};

struct SearchCounters {
  int64_t candidates = 0, trained = 0, duplicates = 0, invalid = 0, filtered = 0;
  int64_t model_phases = 0, model_updates = 0;
  // Candidates judged again after a resume: a killed search's round that
  // its last checkpoint did not cover (summed over resumes).
  int64_t repeated = 0;
  double elapsed_seconds = 0;  // searching, summed over resumed runs
  nlohmann::json to_json() const;
};

class LossSearch {
 public:
  // `task` must outlive the search; `executor` null: a ThreadExecutor with
  // config.workers threads.
  LossSearch(SearchConfig config, SearchTask& task, std::unique_ptr<Executor> executor = nullptr);
  ~LossSearch();

  // A fresh search refuses an out_dir that already holds a checkpoint; resume
  // requires one, made with the same searcher, space, task and seed.
  // Throws std::runtime_error with one clear line otherwise.
  void start(bool resume);

  enum class Stop { Budget, Interrupted };
  // Runs rounds until the budget is spent or `interrupt` becomes true
  // (checked between rounds, so the round in flight is finished and recorded).
  Stop run(const std::atomic<bool>& interrupt);

  // One round driven from outside: the work items to fit (possibly none:
  // every candidate was screened out), then their results in the same order.
  // settle_round() throws std::invalid_argument for results that do not
  // answer the round's items one for one, or with no round in flight.
  std::vector<WorkItem> propose_round();
  void settle_round(const std::vector<WorkResult>& results);
  bool done() const;  // the budget is spent
  // Candidates in the next round: `workers`, fewer when the task fits one at
  // a time or the candidate budget ends sooner.
  int64_t round_size() const;

  const SearchCounters& counters() const { return counters_; }
  const std::vector<FoundLoss>& top() const { return top_; }  // best first
  const SearchConfig& config() const { return config_; }
  const SearchSpace& space() const { return space_; }
  void checkpoint();
  // Appended to the progress lines: what the executor says of itself (a
  // cluster's nodes and retried tasks).
  void set_executor_note(std::string note) { executor_note_ = std::move(note); }

 private:
  void record(const std::vector<Token>& tokens, const Evaluation& e);
  int64_t restore();  // returns the candidates it cut off, to be judged again
  void report_progress(bool force);
  double elapsed() const;

  SearchConfig config_;
  SearchTask& task_;
  std::unique_ptr<Executor> executor_;
  SearchSpace space_;
  std::unique_ptr<Searcher> searcher_;
  Evaluator evaluator_;

  struct Round {
    std::vector<std::vector<Token>> proposals;
    Evaluator::Pending pending;
  };
  std::optional<Round> round_;  // proposed, not yet settled

  std::mt19937_64 rng_;
  SearchCounters counters_;
  int64_t phase_ = 0, phase_sample_ = 0;
  std::vector<FoundLoss> top_, phase_best_;
  int64_t cache_hits_ = 0;

  CandidateLog log_;
  bool started_ = false;
  int64_t saved_searcher_version_ = -1;

  std::string executor_note_;
  double elapsed_at_start_ = 0;
  int64_t candidates_at_start_ = 0, trained_at_start_ = 0;
  int64_t start_time_ns_ = 0, last_progress_ns_ = 0;
};

}  // namespace losscc::search
