// Task signatures: the multi-task space's probe signatures (the pointwise
// space's are compiler/passes/probe_signature.h, the ranking space's
// list_signature.h), which its token masks compose one operator at a time.
//
// A node's signature is its value and its gradient by every input (p1, y1,
// p2, y2, ...) at the points check() probes a multi-task loss at
// (multi_task_probes() in check.h). An operator is the pointwise space's
// template (OpTemplate: its value and ∂/∂a, ∂/∂b by the interpreter), and the
// chain rule carries each input's gradient through it, so a signature
// follows the compiler's semantics of every operator, guards included.
//
// A batch-mean leaf (mean(bcek) of a space with batch statistics) treats the
// probe points as one batch: its value is task k's mean loss over them at
// every point, its gradient 0 (it is held constant), and the signature keeps
// which tasks' batch means it reads, so that two of them are never one node.
//
// passes_check() is check()'s verdict on those points: finite, and for each
// task a non-zero gradient by its prediction and the right direction against
// its own label. It skips simplification, so check() stays the authority.
#pragma once

#include <cstdint>
#include <vector>

#include "compiler/ir/expr.h"
#include "compiler/passes/probe_signature.h"

namespace losscc::search {

struct TaskSignature {
  int tasks = 0;
  std::vector<double> value;              // at every multi_task_probes(tasks) point
  std::vector<std::vector<double>> grad;  // grad[j][point]: ∂/∂ input j, inputs p1, y1, p2, y2, ...
  uint32_t batch_means = 0;               // bit k: reads task k's batch-mean leaf

  // Task k's (0-based) prediction and label.
  static TaskSignature prediction(int tasks, int task);
  static TaskSignature label(int tasks, int task);
  // Task k's binary cross-entropy −(y·log p + (1 − y)·log(1 − p)); `held`: its
  // gradient held at 0, as detach() holds it.
  static TaskSignature bce(int tasks, int task, bool held);
  static TaskSignature constant(int tasks, double c);
  // Task k's mean bce over the probe points, held constant.
  static TaskSignature batch_mean_bce(int tasks, int task);

  bool finite() const;
  // Equal value and gradients at every point, within rel_tol of the larger magnitude.
  bool same_as(const TaskSignature& other, double rel_tol = 1e-9) const;
  bool passes_check() const;
};

class TaskTemplate {
 public:
  // `body` reads input("a") and, for a binary operator, input("b").
  explicit TaskTemplate(const Expr& body) : op_(body) {}
  // The signature of body(a, b) (b is ignored by a unary template). Not
  // thread-safe: the interpreter owns scratch registers.
  void compose(const TaskSignature& a, const TaskSignature& b, TaskSignature& out);

 private:
  OpTemplate op_;
};

}  // namespace losscc::search
