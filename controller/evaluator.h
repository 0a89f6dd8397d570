// Judging one candidate loss, cheapest test first:
//
//   1. decode, simplify, hash the canonical form;
//   2. the compiler's validity check (check.h) and the gradient fingerprint on
//      its probe points: an invalid loss, or one whose gradient is zero or
//      NaN everywhere probed, is rejected without training;
//   3. a loss already trained (same canonical hash, or same fingerprint within
//      tolerance) gets its cached reward, without training;
//   4. otherwise the CandidateTrainer trains a recommender with it and
//      returns the validation AUC; a non-finite loss during training rejects
//      the candidate (never a crash).
//
// evaluate_batch() judges several candidates at once: steps 1–3 in order on
// the calling thread (a candidate that repeats an earlier one of the same
// batch waits for its reward), the trainings on up to `workers` threads, the
// results settled in order, so a batch gives the same outcome as evaluating
// its candidates one by one.
//
// Reward filtering is the searcher's business (it needs the baseline), so an
// Evaluation is Trained, Duplicate or Invalid; the loop may mark it Filtered.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/loss_function.h"
#include "controller/reward_cache.h"
#include "controller/space/search_space.h"

namespace losscc::search {

enum class CandidateStatus { Trained, Duplicate, Invalid, Filtered };
std::string_view status_name(CandidateStatus s);
std::optional<CandidateStatus> status_by_name(std::string_view name);

// What training one candidate produced. A CandidateTrainer given to
// evaluate_batch() with workers > 1 runs on several threads at once. Throwing models::NonFiniteLoss (or
// returning a non-finite reward) rejects the candidate.
struct TrainOutcome {
  double reward = 0;           // validation AUC of the trained copy
  double compile_seconds = 0;  // building the loss's kernel
  double train_seconds = 0;
};
using CandidateTrainer = std::function<TrainOutcome(const LossFunction& simplified)>;

struct Evaluation {
  CandidateStatus status = CandidateStatus::Invalid;
  std::optional<double> reward;  // measured or cached; nullopt when rejected
  uint64_t hash = 0;             // LossFunction::hash() of the simplified loss
  std::string source;            // the simplified loss as .loss text
  std::string reason;            // why it was rejected, or whose duplicate it is
  std::vector<double> fingerprint;
  double compile_seconds = 0, train_seconds = 0;
};

struct EvaluatorConfig {
  size_t cache_capacity = 4096;
  double fingerprint_tolerance = 1e-6;
};

class Evaluator {
 public:
  Evaluator(EvaluatorConfig config, CandidateTrainer train);
  Evaluation evaluate(const SearchSpace& space, const std::vector<Token>& tokens);
  std::vector<Evaluation> evaluate_batch(const SearchSpace& space,
                                         const std::vector<std::vector<Token>>& batch, int workers);
  // Rebuilding the cache on resume: a loss trained earlier with this reward.
  void remember(uint64_t hash, std::vector<double> fingerprint, double reward);

  int64_t trainings() const { return trainings_; }
  const RewardCache& cache() const { return cache_; }

 private:
  // Steps 1–3: the evaluation so far and, when it must be trained, the loss.
  struct Screened {
    Evaluation e;
    std::optional<LossFunction> to_train;
    int same_as = -1;  // index of an earlier candidate of the batch it repeats
  };
  Screened screen(const SearchSpace& space, const std::vector<Token>& tokens);
  void settle(Screened& s, const TrainOutcome* outcome, const std::string& error);

  CandidateTrainer train_;
  RewardCache cache_;
  int64_t trainings_ = 0;
};

// "%016x" of a hash, as candidates.jsonl writes it.
std::string hash_hex(uint64_t hash);

}  // namespace losscc::search
