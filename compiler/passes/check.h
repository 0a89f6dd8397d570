// The validity check: is a candidate loss worth training with?
//
// check() simplifies the function itself (callers may pass either form) and
// runs every check below, so a report lists all failures, not only the first.
// Each failure is one reason string "<check>: <detail>", and the check's name
// is in `failed_checks`. Inputs are sampled on a grid over their declared
// domains: prob → 1e-4 … 1-1e-4, binary → {0,1}, unit → [0,1], real → [-10,10].
//
//   undeclared-input        the body uses an input the function does not declare
//   depends-on-prediction   pointwise losses (no pos/neg roles) must use a
//   depends-on-label        Prediction-role and a Label-role input;
//   depends-on-positive     pairwise losses (a pos or neg role declared) must
//   depends-on-negative     use a Positive and a Negative input
//   finite                  the loss and its gradients are finite on the grid
//   nonzero-gradient        some prediction/pos/neg gradient is non-zero there
//   monotonic               AutoLossGen's test, from the symbolic gradient: for
//                           label 1 the loss falls as pred rises (∂ℓ/∂pred < 0),
//                           for label 0 it rises (> 0), on N pred values; valid
//                           when more than 60% of the 2·N checks hold. Pairwise:
//                           ∂ℓ/∂pos ≤ 0 and ∂ℓ/∂neg ≥ 0 on a pos × neg grid (not
//                           strict: a hinge is flat once a pair clears its margin).
// Other-role inputs are held at a middle value of their domain by the
// monotonicity test and swept with the rest by the finiteness test.
//
// A multi-task loss (K >= 2 prediction inputs and K label inputs, not
// pairwise) pairs them in declaration order: task k is the k-th prediction
// judged by the k-th label. Then depends-on-*, nonzero-gradient and monotonic
// hold per task: each task's prediction and label are used, its gradient is
// somewhere non-zero, and with every other input at its middle its
// prediction passes the direction test against its own label. One that reads
// batch statistics (a per-query reduction: the batch is its one query, e.g.
// qmean(bce1 / qmean(detach(bce1)) + ...)) is probed on the ranking checks'
// probe lists as batches instead: finite there, and per task a non-zero
// gradient and the direction test at every row against that row's label.
//
// A ranking loss (LossFunction::grouped()) is checked on lists instead of a
// grid: a fixed, seeded set of probe queries of 1 to 40 documents, with labels
// from the label's domain (grade: 0..4), including one-document queries, all
// labels equal, all labels 0, tied scores and scores at ±10.
//   depends-on-prediction,  as for pointwise losses (the scores are the
//   depends-on-label        Prediction-role input)
//   finite                  the loss and its gradients on every probe list
//   nonzero-gradient        some score gradient is non-zero there
//   ideal-order             the loss prefers the ideal order: with one set of
//                           scores given to the documents in label order
//                           (highest score to highest label) and in reverse,
//                           the first loss is lower on more than 90% of the
//                           lists whose labels are not all equal
//   monotonic               the gradient raises relevant documents against
//                           irrelevant ones: for pairs with label_i > label_j,
//                           ∂ℓ/∂s_i < ∂ℓ/∂s_j at random scores, on more than
//                           60% of the pairs where either is non-zero
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/ir/loss_function.h"

namespace losscc {

struct CheckReport {
  bool valid = true;
  std::vector<std::string> reasons;        // one "<check>: <detail>" per failure
  std::vector<std::string> failed_checks;  // the failed checks' names
  int grid_points = 0;                     // points the finiteness test evaluated
  double monotonic_fraction = 0;           // share of direction checks that held
  std::optional<double> ideal_order_fraction;  // ranking losses: share of lists where
                                               // the ideal order had the lower loss

  bool failed(std::string_view check_name) const;
  nlohmann::json to_json() const;
};

CheckReport check(const LossFunction& fn);

// The ideal-order test's bar: the ideal order must win on more than this
// share of the lists whose labels are not all equal (the search's list masks,
// search/space/list_signature.h, apply the same bar).
inline constexpr double kIdealOrderThreshold = 0.9;

// The points check() probes a pointwise loss over pred: prob and label:
// binary at: its finiteness grid first, then its monotonicity sweep. With
// passes_pointwise_probes() they let an analysis predict check()'s verdict
// from values it composes itself (the search's masks, probe_signature.h).
struct ProbePoint {
  double pred, label;
};
struct PointwiseProbes {
  std::vector<ProbePoint> points;
  size_t grid = 0;  // points[0, grid) is the finiteness grid, the rest the sweep
};
const PointwiseProbes& pointwise_probes();
// check()'s finite, nonzero-gradient and monotonic verdicts on such a loss,
// from its value and gradients at pointwise_probes().points (each array has
// one entry per point). The dependence checks need no separate test: a loss
// that passes monotonic depends on pred, and on label (a loss blind to the
// label holds at most half of the direction checks).
bool passes_pointwise_probes(const double* value, const double* d_pred, const double* d_label);

// The same for a multi-task loss of K tasks whose inputs are declared as
// p1: prob as pred, y1: binary as label, p2, y2, ... (check()'s pairing): each
// point holds the 2K input values in that order. The finiteness grid is the
// Cartesian grid of their domains (thinned as check() thins it), then each
// task's sweep: its prediction swept with its label at 0, then 1, every other
// input at its middle.
struct MultiTaskProbes {
  int tasks = 0;
  std::vector<std::vector<double>> points;
  size_t grid = 0;  // points[0, grid) is the finiteness grid
  // points[sweep_begin[k], sweep_begin[k] + 2·N): task k's sweep, label 0 then 1.
  std::vector<size_t> sweep_begin;
};
// Throws std::invalid_argument for tasks < 2.
const MultiTaskProbes& multi_task_probes(int tasks);
// check()'s finite, nonzero-gradient and per-task monotonic verdicts from the
// loss's value and its gradient by each input (grads[j][point], inputs in the
// order above) at multi_task_probes(tasks).points. As for one task, a task
// that passes its direction test reads its prediction and its label.
bool passes_multi_task_probes(int tasks, const std::vector<double>& value,
                              const std::vector<std::vector<double>>& grads);

}  // namespace losscc
