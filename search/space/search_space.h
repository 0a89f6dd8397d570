// The loss search space of AutoLossGen (SIGIR 2022): a loss is a small
// straight-line program over three leaves.
//
//   node 0 = pred, node 1 = label, node 2 = the constant 1
//   node k (k ≥ 3) = op_k(node lhs_k [, node rhs_k])   with lhs_k, rhs_k < k
//
// One Token per operator node; the last node is the per-element loss, which is
// mean-reduced over the batch. Nodes the last one does not use are dead code and
// vanish in decoding. Sequences decode to the same LossFunction IR a
// hand-written `.loss` file produces, so every candidate goes through the one
// compiler (simplify, check, grad, codegen).
//
// A ranking space (learning to rank) has the leaves score, label and 1 and
// adds per-query operators to the table: qmean, qmax, lse (log Σ exp over the
// query), softmax, smooth_rank, gain, rank, discount, idcg, suffix_lse
// (ListMLE's suffix log-sum-exp in the label order), ndcg_weight (a
// document's share of NDCG at a position), and pairwise terms over
// the pairs of a query whose labels differ (pair_logistic, pair_hinge,
// pair_sigmoid, and RankNet's term weighted by NDCG's swap cost or LambdaLoss's
// rank-gap cost at a given position: pair_lambda, pair_lambda_gap; see
// search_space.cpp). The loss is the per-query sum of the last node, a
// ranking loss over `input score: real as pred` and `input label: grade`,
// mean-reduced over queries. RankNet, ListMLE, LambdaRank and ApproxNDCG are
// token programs of 1 to 3 layers, ListNet of 6, LambdaLoss (up to its factor
// 1/ln 2) of 6 with μ = 2 and of 10 with allRank's μ = 10 (built from the
// constant 1).
//
// A multi-task space (K ≥ 2 tasks) searches the whole loss of a multi-task
// model: its leaves are, per task k, the prediction pk, the label yk, the
// task's binary cross-entropy bcek and that loss held constant
// (detach(bcek), the row's own loss as a weight, as RMTL's critic estimates
// it), then the constant 1; `detach` is appended to the operators. The last
// node is the total per-sample loss over inputs p1: prob as pred, y1: binary
// as label, p2, y2, ... (check()'s task pairing), mean-reduced. Equal
// weighting is one token (add(bce1, bce2)), ESMM's chain of examples/
// mtl_chain.loss three, fixed weights 1 and 1/2 four, and RMTL's closed-form
// weights (examples/mtl_rmtl_closed_form.loss with λ = 1, uncapped) five.
// With batch statistics, the leaves mean(bcek) = qmean(detach(bcek)) (task
// k's mean loss over the batch, held constant) follow the constant, and a
// program that reads one is the batch mean of its last node (the batch is
// its one query; models/mtl/task_loss.h): loss-ratio weightings such as
// bce1/mean(bce1) + bce2/mean(bce2) are then programs.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/expr.h"
#include "compiler/ir/loss_function.h"

namespace losscc::search {

// One operator the controller can pick: its name (as the JSONL and the tests
// spell it), its arity (1 or 2) and how it builds IR. Unary builders ignore `b`.
struct OpChoice {
  std::string_view name;
  int arity;
  Expr (*build)(const Expr& a, const Expr& b);
};

// The ε of the guarded log, reciprocal and square root: keeps a candidate's
// value and gradient finite at 0 (AutoLossGen's "safe" operators).
inline constexpr double kGuardEpsilon = 1e-6;

// The space's log and reciprocal: sign⁺(a)·log(|a| + ε) and sign⁺(a)/(|a| + ε),
// where sign⁺(a) is 1 for a ≥ 0 and -1 below. At 0 they take their limit from
// above (log ε, 1/ε), as AutoLossGen's operators do on its nodes, which it
// clamps to ≥ 1e-5; with sign(0) = 0 they would jump to 0 there, and 0 is
// where min(label, pred) sits for every negative (LogMin's first node).
Expr protected_log(const Expr& a);
Expr protected_reciprocal(const Expr& a);

// The three leaves every pointwise and ranking candidate may read.
inline constexpr int kNumLeaves = 3;
inline constexpr std::string_view kLeafNames[kNumLeaves] = {"pred", "label", "1"};
inline constexpr std::string_view kRankingLeafNames[kNumLeaves] = {"score", "label", "1"};
// A multi-task space's leaves per task, and the constant after them.
inline constexpr int kLeavesPerTask = 4;

struct Token {
  int op = 0;    // index into SearchSpace::ops()
  int lhs = 0;   // an earlier node: 0 ≤ lhs < node index
  int rhs = -1;  // binary ops: an earlier node; unary ops: -1
  friend bool operator==(const Token& a, const Token& b) {
    return a.op == b.op && a.lhs == b.lhs && a.rhs == b.rhs;
  }
  friend bool operator!=(const Token& a, const Token& b) { return !(a == b); }
};
std::ostream& operator<<(std::ostream& os, const Token& t);  // "{op, lhs, rhs}", for test output

// A token sequence that breaks the rules above; what() names the token and why.
struct InvalidTokens : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

class SearchSpace {
 public:
  // `layers` operator nodes (AutoLossGen's default is 10). `extended` adds
  // sigmoid, tanh, relu, abs, guarded sqrt and exp to the basic operator set.
  // `ranking`: the ranking space (leaves score, label, 1; per-query operators
  // appended to the table; decode() gives a ranking loss).
  explicit SearchSpace(int layers = 10, bool extended = false, bool ranking = false);
  // The multi-task space of `tasks` (≥ 2) tasks; `batch_statistics` adds the
  // leaves mean(bce1), ..., mean(bceK) after the constant.
  static SearchSpace multi_task(int tasks, int layers = 6, bool extended = false, bool batch_statistics = false);

  int layers() const { return layers_; }
  bool extended() const { return extended_; }
  bool ranking() const { return ranking_; }
  // Tasks of a multi-task space; 0 for the others.
  int tasks() const { return tasks_; }
  // Whether a multi-task space has the batch-mean leaves.
  bool batch_statistics() const { return batch_statistics_; }
  int num_leaves() const { return static_cast<int>(leaf_names_.size()); }
  std::string_view leaf_name(int leaf) const { return leaf_names_[leaf]; }
  // A multi-task space's leaf of task k (0-based): kPrediction, kLabel, kBce, kHeldBce.
  enum TaskLeaf { kPrediction = 0, kLabel = 1, kBce = 2, kHeldBce = 3 };
  static int task_leaf(int task, TaskLeaf leaf) { return kLeavesPerTask * task + leaf; }
  // The constant 1 of a multi-task space, and task k's mean(bce) leaf.
  int constant_leaf() const { return kLeavesPerTask * tasks_; }
  int batch_mean_leaf(int task) const { return kLeavesPerTask * tasks_ + 1 + task; }
  const std::vector<OpChoice>& ops() const { return *ops_; }
  int num_ops() const { return static_cast<int>(ops_->size()); }
  // Index of the operator called `name`, or -1.
  int op_index(std::string_view name) const;
  // Number of nodes (leaves included) that token `position` may read.
  int inputs_available(int position) const { return num_leaves() + position; }

 private:
  int layers_;
  bool extended_;
  bool ranking_;
  int tasks_ = 0;
  bool batch_statistics_ = false;
  std::vector<std::string> leaf_names_;
  const std::vector<OpChoice>* ops_;
};

// Empty when `tokens` is a valid program of `space` (exactly layers() tokens,
// known operators, inputs in range, rhs == -1 exactly for unary operators);
// otherwise one line naming the first offending token.
std::string validation_error(const SearchSpace& space, const std::vector<Token>& tokens);

// The loss the tokens describe: inputs pred: prob and label: binary, the last
// node as body, mean reduction (ranking space: inputs score: real as pred and
// label: grade, body qsum(last node), mean over queries; multi-task space:
// inputs p1, y1, p2, y2, ..., the last node, mean reduction; qmean(last node)
// when it reads a batch-mean leaf). The body is
// built without simplification.
// Throws InvalidTokens when validation_error() is not empty.
LossFunction decode(const SearchSpace& space, const std::vector<Token>& tokens);

// Every operator uniform, every input uniform over the earlier nodes: the
// random searcher's proposal and a generator of random expressions for tests.
std::vector<Token> sample_uniform(const SearchSpace& space, std::mt19937_64& rng);

// A compact readable form, one entry per node: "log(0) add(3,1) ...".
std::string format_tokens(const SearchSpace& space, const std::vector<Token>& tokens);

}  // namespace losscc::search
