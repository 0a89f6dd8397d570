// Judging one candidate loss, cheapest test first:
//
//   1. decode, simplify, hash the canonical form;
//   2. the compiler's validity check (check.h) and the gradient fingerprint on
//      its probe points: an invalid loss, or one whose gradient is zero or
//      NaN everywhere probed, is rejected without training (so is one that
//      reads no per-batch value, where the config requires one);
//   3. a loss already trained (same canonical hash, or same fingerprint within
//      tolerance) gets its cached reward, without training;
//   4. otherwise it becomes a work item: the executor has the task fit it
//      and measure its reward; a non-finite loss or a compile error rejects
//      the candidate (never a crash).
//
// evaluate_batch() judges several candidates at once: steps 1–3 in order on
// the calling thread (a candidate that repeats an earlier one of the same
// batch waits for its reward), the fits by the executor, the results settled
// in order, so a batch gives the same outcome as evaluating its candidates
// one by one, whatever the executor.
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
#include "search/executor.h"
#include "search/reward_cache.h"
#include "search/space/search_space.h"
#include "search/task.h"

namespace losscc::search {

enum class CandidateStatus { Trained, Duplicate, Invalid, Filtered };
std::string_view status_name(CandidateStatus s);
std::optional<CandidateStatus> status_by_name(std::string_view name);

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
  // Reject, without a fit, every loss that reads no per-batch value (in the
  // multi-task space with batch statistics, a program that reads no batch
  // mean): the controller then learns to sample the batch leaves.
  bool require_batch_statistics = false;
};

class Evaluator {
 public:
  explicit Evaluator(EvaluatorConfig config);

  // Steps 1–3 of one candidate: the evaluation so far and whether it must
  // be fitted.
  struct Screened {
    Evaluation e;
    bool to_train = false;
    int same_as = -1;  // index of an earlier candidate of the batch it repeats
  };
  // A batch screened and waiting for its fits: `items` are the candidates
  // to fit, numbered first_id + their index in the batch.
  struct Pending {
    std::vector<Screened> screened;
    std::vector<size_t> to_train;  // indices into `screened`, one per item
    std::vector<WorkItem> items;
  };
  Pending screen_batch(const SearchSpace& space, const std::vector<std::vector<Token>>& batch, int64_t first_id,
                       int64_t phase);
  // The batch's evaluations in proposal order, given its items' results.
  // Throws std::invalid_argument unless `results` answer the items one for
  // one, in order (an executor's or a Python driver's mistake).
  std::vector<Evaluation> settle_batch(Pending batch, const std::vector<WorkResult>& results);

  // Screen, fit on `executor`, settle.
  std::vector<Evaluation> evaluate_batch(const SearchSpace& space, const std::vector<std::vector<Token>>& batch,
                                         const SearchTask& task, Executor& executor, int64_t first_id = 0,
                                         int64_t phase = 0);
  Evaluation evaluate(const SearchSpace& space, const std::vector<Token>& tokens, const SearchTask& task,
                      Executor& executor);

  // Rebuilding the cache on resume: a loss trained earlier with this reward.
  void remember(uint64_t hash, std::vector<double> fingerprint, double reward);

  int64_t trainings() const { return trainings_; }
  const RewardCache& cache() const { return cache_; }

 private:
  Screened screen(const SearchSpace& space, const std::vector<Token>& tokens);
  void settle(Screened& s, const WorkResult& result);

  bool require_batch_statistics_;
  RewardCache cache_;
  int64_t trainings_ = 0;
};

// "%016x" of a hash, as candidates.jsonl writes it.
std::string hash_hex(uint64_t hash);

}  // namespace losscc::search
