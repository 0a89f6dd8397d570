// What a loss does, told to a person: the loss and its gradient written out
// for each value of the label (substituted, simplified, then read on the
// prediction's domain: see DomainFolder in the .cpp) — of a multi-task loss
// for each combination of its tasks' label values, with the gradient by
// every task's prediction — the check's verdict,
// and a loss card, the numbers a picture of it is drawn from.
//
//   label = 1: loss -(2 * log(pred))
//              ∂/∂pred -2 / pred
//   label = 0: loss pred * 13.815510557964274
//              ∂/∂pred 13.815510557964274
//
// A pointwise loss's card is its loss and ∂loss/∂prediction on a grid of
// prediction values over the prediction's domain, one curve per label value;
// a ranking loss's card is the gradient of every document of one seeded
// sample query against its rank by score; a pairwise loss's, the loss and
// ∂loss/∂pos against pos with neg held at the middle of its domain.
// Inputs of another role are held at the middle of their domains, as the
// validity check holds them. Everything goes through the interpreter.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/ir/expr.h"
#include "compiler/ir/loss_function.h"
#include "compiler/passes/check.h"

namespace losscc {

struct LabelCase {
  double label;
  Expr loss;  // simplified, the label replaced by its value
  Expr grad;  // ∂loss/∂prediction, the same way
};

// A multi-task loss read at one value of every task's label: the loss and
// its gradient by each task's prediction.
struct TaskLabelsCase {
  std::vector<double> labels;  // task k's label value
  Expr loss;
  std::vector<Expr> grads;     // ∂loss/∂(task k's prediction)
};

struct Explanation {
  std::string kind;         // "pointwise", "pairwise", "ranking", "multi-task" or "multi-task batch"
                            // (a multi-task loss that reads batch statistics: its card is a probe
                            // batch's rows, as a ranking loss's is a probe list's documents)
  std::string prediction;   // the Prediction input's name (pointwise, ranking)
  std::string label;        // the Label input's name (pointwise, ranking)
  std::vector<LabelCase> cases;       // pointwise losses with a label
  // Multi-task: the k-th prediction and the k-th label input are task k's
  // (check()'s pairing); a case for each combination of label values.
  std::vector<std::string> predictions, labels;
  std::vector<TaskLabelsCase> task_cases;
  std::vector<std::string> held;      // "w = 0.5": inputs held at a middle value
  Expr simplified;                    // the whole body, simplified
  CheckReport check;
};

Explanation explain(const LossFunction& fn);

// The explanation as text, one line per label value, then the domain and the
// check's verdict.
std::string format_explanation(const LossFunction& fn, const Explanation& e);

// The card's numbers (see the header comment); `name` titles it. Non-finite
// values are null.
nlohmann::json loss_card(const LossFunction& fn, const std::string& name);

}  // namespace losscc
