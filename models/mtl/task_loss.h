// The task losses of a multi-task model as one compiled program.
//
// Each task has its own `.loss` program (bce by default) over a prediction
// and a label. They are fused into one LossFunction (the task bodies with
// their inputs renamed, see substitute() in compiler/ir/expr.h)
//
//   L = mean over rows i of  (1/K) Σ_k  w_k[i] · ℓ_k(pred_k[i], label_k[i])
//
// and compiled once (runtime/torch/compiled_loss.h): the task losses, the
// weighted sum over tasks and the per-sample weights are one fused kernel and
// one autograd op. With equal weights w = 1 this is the mean over tasks of
// the mean task losses (MTReclib's and RMTL's total loss).
//
// A task's prediction input gets the model's probability when its domain is
// `prob` (clamped to [prob_clip, 1 − prob_clip], as the single-task trainer
// does), the logit when it is `real`; its label input the 0/1 label. Other
// roles, several predictions or labels, or a `sum` reduction are rejected in
// a loss per task.
//
// Or one program over every task (a multi-task loss): K prediction and K
// label inputs, task k's the k-th of each (as check() pairs them), giving the
// total per-sample loss, so per-task transformations and cross-task terms are
// the program's. Then L = mean_i (1/K)·Σ_k w_k[i] · program[i]: with equal
// weights the program's mean, and each task's per-sample loss below is the
// program's value (a whole program has no per-task parts).
//
// A whole program may read batch statistics through the per-query
// reductions (qmean(detach(bce1)): the batch mean of task 1's loss), the
// batch being its one query; it is then one value per batch, its body of the
// form qmean(per-row loss), and L = qmean((1/K)·Σ_k w_k) · program.
//
// Per-sample task losses come from the same program: ∂L/∂w_k[i] = ℓ_k[i]/(K·n),
// so the gradient the weights receive in backward() is the table of per-sample
// losses, scaled (per_sample_from_grad()).
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "compiler/ir/loss_function.h"
#include "models/mtl/mtl_model.h"
#include "runtime/torch/compiled_loss.h"

namespace losscc::models::mtl {

// Binary cross-entropy, the default task loss.
LossFunction default_task_loss();

class MultiTaskLoss {
 public:
  // One loss per task, or one multi-task program. Throws
  // std::invalid_argument for a loss whose inputs a task cannot feed
  // (message names the task).
  MultiTaskLoss(const std::vector<LossFunction>& task_losses, const std::vector<std::string>& task_names,
                double prob_clip = 1e-7);

  int64_t tasks() const { return static_cast<int64_t>(sources_.size() / 3); }
  // Whether the loss is one multi-task program (not a loss per task).
  bool whole_program() const { return whole_program_; }
  // Whether it is a whole program over the batch (reads batch statistics).
  bool batch_program() const { return fused().grouped(); }
  // The fused program (inputs t0_pred, t0_label, t0_w, t1_pred, ...).
  const LossFunction& fused() const { return loss_.function(); }

  // L for model outputs [n, K], labels [n, K] and weights [n, K]; gradients
  // flow to whichever of them require grad.
  at::Tensor operator()(const MtlOutput& out, const at::Tensor& labels, const at::Tensor& weights) const;
  // ℓ_k[i] as [n, K] from the gradient weights [n, K] got in backward() of L.
  at::Tensor per_sample_from_grad(const at::Tensor& weight_grad) const;
  // ℓ_k[i] as [n, K], computed by the same program, with no autograd graph.
  at::Tensor per_sample(const MtlOutput& out, const at::Tensor& labels) const;

 private:
  enum class Source { Prob, Score, Label, Weight };
  bool whole_program_ = false;
  std::vector<Source> sources_;  // per fused input: what feeds it
  double prob_clip_;
  CompiledLoss loss_;
};

}  // namespace losscc::models::mtl
