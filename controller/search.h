// The search loop. Each round the searcher proposes `workers` candidates,
// the Evaluator judges them (the trainings on `workers` threads at once), and
// the searcher learns each outcome, in order. The reward of a trained
// candidate is set by SearchConfig::reward:
//
//   scratch (default)  a fresh recommender, initialised from the configured
//                      seed, trains with the candidate for at most
//                      reward_epochs epochs (early stopping after
//                      reward_patience) and the reward is its best validation
//                      AUC: a short version of the effectiveness test, so the
//                      search ranks losses the way a from-scratch fit does.
//                      BiasedMF trains natively (models/native_mf.h).
//   shared             AutoLossGen's iterative-alternating schedule: a copy of
//                      the shared recommender trains candidate_steps
//                      minibatches; after num_aggregate × controller_steps
//                      candidates a model phase trains the shared recommender
//                      one step (model_steps minibatches, or one epoch) with
//                      the phase's best candidate (one that lowers the
//                      validation AUC is rejected, the next best tried). One
//                      worker: the copies share the model.
//
// Everything lands under `out_dir`:
//   candidates.jsonl  one line per candidate, appended and flushed as it is judged
//   checkpoint/       state.json (written atomically after every round) and
//                     the tensors it names (policy, optimiser, shared model),
//                     written only when they change
//   best.loss         the best loss so far
// A kill at any moment loses at most the round in flight: a resumed search
// cuts candidates.jsonl back to what the checkpoint covers and continues from
// the checkpoint's RNG state, so the next candidates are the same ones.
#pragma once

#include <atomic>
#include <cstdint>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/evaluator.h"
#include "controller/policy.h"
#include "controller/reinforce.h"
#include "controller/searcher.h"
#include "models/data/dataset.h"
#include "models/rec_model.h"
#include "models/trainer.h"

namespace losscc::search {

struct SearchConfig {
  std::string searcher = "rl";  // searcher_names()
  int layers = 10;
  bool extended = false;        // the extended operator set
  // The ranking space (search_space.h); then a CandidateTrainer must be given
  // (the recommender rewards do not apply) and policy.mask must be off.
  // ranking_identity names what the rewards train on (data, fold, model),
  // for resuming.
  bool ranking = false;
  nlohmann::json ranking_identity;
  uint64_t seed = 1;

  // Budget: the search stops at whichever set limit it reaches first (0: unset).
  int64_t budget_candidates = 0;
  double budget_minutes = 0;

  std::string reward = "scratch";  // reward_names()
  int reward_epochs = 4;           // scratch: most epochs of a reward fit
  int reward_patience = 2;         // scratch: early stopping of a reward fit
  int workers = 2;                 // scratch: candidates trained at once

  int controller_steps = 5;      // policy updates per controller phase
  int64_t candidate_steps = 50;  // shared: minibatches each candidate trains for
  int64_t model_steps = 0;       // minibatches of a model phase; 0: one epoch
  int model_phase_tries = 3;     // best candidates of a phase tried in the model phase
  int top_k = 5;                 // losses kept for the effectiveness test

  PolicyConfig policy;
  ReinforceConfig reinforce;
  EvaluatorConfig evaluator;
  models::TrainConfig train;     // candidates and model phases
  std::string model_kind = "biasedmf";

  std::string out_dir = "search-out";
  double progress_seconds = 3;   // at most one progress line per this many seconds; 0: none

  int samples_per_phase() const { return reinforce.num_aggregate * controller_steps; }
  bool shared_reward() const { return reward == "shared"; }
};

// The reward names SearchConfig::reward accepts: "scratch", "shared".
const std::vector<std::string>& reward_names();

// The "scratch" reward of one loss: a fresh config.model_kind from
// config.seed trains with config.train for at most reward_epochs epochs
// (patience reward_patience); the reward is its best validation AUC, NaN when
// that never was a number. Throws models::NonFiniteLoss. Thread-safe.
TrainOutcome scratch_reward(const models::Dataset& data, const LossFunction& fn, const SearchConfig& config);

// One of the best distinct trained losses.
struct FoundLoss {
  int64_t id = 0;  // its line in candidates.jsonl (0-based)
  double reward = 0;
  uint64_t hash = 0;
  std::string source;  // simplified, as .loss text
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
  // `train` replaces how a candidate is trained and scored (tests count
  // calls with it); by default it is config.reward's. Throws
  // std::invalid_argument for an unknown reward.
  LossSearch(SearchConfig config, const models::Dataset& data, CandidateTrainer train = {});
  // A search whose candidates `train` alone trains and scores, on data the
  // search never sees (a task loss of a multi-task model, controller/mtl_task.h);
  // `data_name` goes into the checkpoint's identity. Scratch reward only:
  // throws std::invalid_argument for config.reward "shared" or an empty `train`.
  LossSearch(SearchConfig config, std::string data_name, CandidateTrainer train);
  ~LossSearch();

  // A fresh search refuses an out_dir that already holds a checkpoint; resume
  // requires one, made with the same searcher, space, model, data and seed.
  // Throws std::runtime_error with one clear line otherwise.
  void start(bool resume);

  enum class Stop { Budget, Interrupted };
  // Runs until the budget is spent or `interrupt` becomes true (checked
  // between candidates, so the one in flight is finished and recorded).
  Stop run(const std::atomic<bool>& interrupt);

  const SearchCounters& counters() const { return counters_; }
  const std::vector<FoundLoss>& top() const { return top_; }  // best first
  double shared_model_auc() const { return shared_auc_; }
  const SearchConfig& config() const { return config_; }

 private:
  bool budget_spent() const;
  TrainOutcome train_candidate(const LossFunction& fn);  // shared
  void record(const std::vector<Token>& tokens, const Evaluation& e);
  void model_phase();
  void checkpoint();
  int64_t restore();  // returns the candidates it cut off, to be judged again
  void report_progress(bool force);
  double elapsed() const;

  SearchConfig config_;
  const models::Dataset* data_;  // null when the caller trains the candidates
  std::string data_name_;
  SearchSpace space_;
  std::unique_ptr<Searcher> searcher_;
  Evaluator evaluator_;
  std::shared_ptr<models::RecModel> shared_;  // the shared reward's model, else null
  double shared_auc_ = 0;

  std::mt19937_64 rng_;
  SearchCounters counters_;
  int64_t phase_ = 0, phase_sample_ = 0;
  std::vector<FoundLoss> top_, phase_best_;
  int64_t cache_hits_ = 0;

  std::ofstream jsonl_;
  int64_t jsonl_bytes_ = 0;
  int64_t model_version_ = 0, saved_model_version_ = -1, saved_searcher_version_ = -1;
  std::vector<std::string> checkpoint_files_;  // the tensor files state.json names

  double elapsed_at_start_ = 0;
  int64_t candidates_at_start_ = 0, trained_at_start_ = 0;
  int64_t start_time_ns_ = 0, last_progress_ns_ = 0;
};

}  // namespace losscc::search
