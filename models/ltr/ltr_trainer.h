// Training a ranker with a compiled loss, per query list.
//
// One step takes `batch` whole training queries (reshuffled every epoch),
// scores their documents, and minimises the loss over them with Adam (or
// SGD): a ranking loss (fn.grouped()) gets the queries' segment offsets and
// is the mean (or sum) over those queries of the per-query loss; a pointwise
// loss is reduced over the documents. After every epoch the validation
// queries are scored, and fit() stops once the best validation NDCG@10
// (standard convention, queries with ideal DCG 0 skipped) is `patience`
// epochs old, restoring the best state. It then reports every metric in
// both conventions for train, validation and test.
//
// The loss's inputs bind by role: the Prediction input gets the raw score
// when its domain is `real` and sigmoid(score) (clamped to [1e-7, 1 − 1e-7])
// when it is `prob`; the Label input gets the graded label, or label > 0 when
// its domain is `binary`. Other roles are rejected at construction.
//
// Determinism: the model comes from make_scorer(seed) and the query order
// from this trainer's own generator seeded with `seed`.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/optim/optimizer.h>

#include "compiler/ir/loss_function.h"
#include "models/ltr/letor.h"
#include "models/ltr/ltr_metrics.h"
#include "models/ltr/scorer.h"
#include "models/errors.h"
#include "runtime/torch/compiled_loss.h"

namespace losscc::models::ltr {

struct LtrTrainConfig {
  std::string optimizer = "adam";  // "adam" | "sgd"
  double lr = 1e-3;
  double weight_decay = 0;
  int64_t batch = 16;  // queries per step
  int epochs = 100;
  int patience = 10;   // stop when the best validation NDCG@10 is this many epochs old
  uint64_t seed = 1;   // query order (and document order, below)
  // Reshuffle the documents within each training query every epoch: a loss
  // that breaks label ties by position (ListMLE's ideal permutation, rank(label))
  // then breaks them at random instead of by file order.
  bool shuffle_documents = false;
  // Standard convention: queries with ideal DCG 0 are skipped or score 1 in
  // the reported metrics (early stopping ranks epochs the same either way).
  IdealZero ideal_zero = IdealZero::Skip;
  nlohmann::json to_json() const;
};

// Metrics of one split in both conventions.
struct SplitMetrics {
  RankingMetrics standard, letor;
  nlohmann::json to_json() const;
};
// Scores every document of `split` (eval mode, no autograd) and evaluates.
std::vector<double> score_split(Scorer& model, const LtrSplit& split);
SplitMetrics evaluate_split(Scorer& model, const LtrSplit& split, IdealZero ideal_zero = IdealZero::Skip);

class LtrTrainer {
 public:
  // Throws std::invalid_argument for a bad config or a loss whose inputs a
  // ranker cannot feed.
  LtrTrainer(std::shared_ptr<Scorer> model, const LossFunction& loss, LtrTrainConfig config);
  ~LtrTrainer();

  // One epoch over `train`; returns the mean batch loss. Throws models::NonFiniteLoss.
  double train_epoch(const LtrSplit& train);

  struct EpochLog {
    int epoch;  // 1-based
    double train_loss;
    double valid_ndcg10;  // standard convention
    double seconds;
  };
  struct FitResult {
    SplitMetrics train, valid, test;  // at the best validation epoch
    // Each test query's NDCG@10 (standard convention) by query id; queries
    // with ideal DCG 0 left out: what paired comparisons over (fold, seed,
    // query) read (to_json's "test_ndcg@10_per_query").
    std::map<std::string, double> test_ndcg10_per_query;
    int best_epoch = 0;
    int epochs = 0;
    double seconds = 0;  // the whole fit, evaluation included
    std::vector<EpochLog> history;
    nlohmann::json to_json() const;
  };
  FitResult fit(const LtrDataset& data, const std::function<void(const EpochLog&)>& on_epoch = {});

  Scorer& model() { return *model_; }

 private:
  std::shared_ptr<Scorer> model_;
  LtrTrainConfig config_;
  CompiledLoss loss_;
  bool grouped_;
  bool prob_input_;    // the prediction is sigmoid(score)
  bool binary_label_;  // the label is label > 0
  int pred_index_, label_index_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::mt19937_64 rng_;
};

}  // namespace losscc::models::ltr
