#include "models/mtl/task_loss.h"

#include <torch/autograd.h>

#include <stdexcept>

#include <fmt/format.h>

#include "compiler/language/parse.h"

namespace losscc::models::mtl {

LossFunction default_task_loss() {
  return parse_loss("-(label * log(pred) + (1 - label) * log(1 - pred))", "bce");
}

namespace {

struct Fused {
  LossFunction fn;
  std::vector<int> sources;  // 0 prob, 1 score, 2 label, 3 weight
  bool whole_program = false;
};

// One prediction per task: a whole program (fuse_program names what else it lacks).
bool is_multi_task_program(const LossFunction& fn, size_t tasks) {
  return tasks >= 2 && fn.count(Role::Prediction) == tasks;
}

// One program over every task: its k-th prediction and k-th label inputs
// become task k's, and L = mean_i (1/K) Σ_k w_k[i] · program[i], so that with
// equal weights L is the program's mean and every task's per-sample loss
// (∂L/∂w_k) is the program's value.
Fused fuse_program(const LossFunction& fn, const std::vector<std::string>& names) {
  if (fn.reduction != Reduction::Mean) throw std::invalid_argument("the multi-task loss must be mean-reduced");
  std::vector<const InputDecl*> preds, labels;
  for (const InputDecl& in : fn.inputs) {
    if (in.role == Role::Prediction) preds.push_back(&in);
    else if (in.role == Role::Label) labels.push_back(&in);
    else
      throw std::invalid_argument(fmt::format(
          "multi-task loss input '{}' has role '{}'; it takes one prediction and one label per task", in.name,
          role_name(in.role)));
  }
  if (labels.size() != preds.size())
    throw std::invalid_argument(fmt::format("the multi-task loss has {} prediction and {} label inputs for {} tasks",
                                            preds.size(), labels.size(), names.size()));
  Fused out;
  std::vector<std::pair<std::string, Expr>> renames;
  Expr weight_sum;
  for (size_t k = 0; k < names.size(); ++k) {
    const std::string prefix = fmt::format("t{}_", k);
    renames.push_back({preds[k]->name, input(prefix + "pred")});
    renames.push_back({labels[k]->name, input(prefix + "label")});
    out.fn.inputs.push_back({prefix + "pred", preds[k]->domain, Role::Prediction});
    out.sources.push_back(preds[k]->domain == Domain::Real ? 1 : 0);
    out.fn.inputs.push_back({prefix + "label", labels[k]->domain, Role::Label});
    out.sources.push_back(2);
    out.fn.inputs.push_back({prefix + "w", Domain::Real, Role::Other});
    out.sources.push_back(3);
    weight_sum = weight_sum ? weight_sum + input(prefix + "w") : input(prefix + "w");
  }
  // A program that reads batch statistics is one value per batch (its one
  // query): the weights enter as their batch mean, so that ∂L/∂w_k[i] is
  // still the program's value over (K·n).
  const Expr weight = weight_sum * (1.0 / static_cast<double>(names.size()));
  out.fn.body = (fn.grouped() ? qmean(weight) : weight) * substitute(fn.body, renames);
  out.fn.reduction = Reduction::Mean;
  out.whole_program = true;
  return out;
}

Fused fuse(const std::vector<LossFunction>& losses, const std::vector<std::string>& names) {
  if (losses.size() == 1 && is_multi_task_program(losses[0], names.size())) return fuse_program(losses[0], names);
  if (losses.empty()) throw std::invalid_argument("MultiTaskLoss: no tasks");
  if (losses.size() != names.size())
    throw std::invalid_argument(fmt::format("MultiTaskLoss: {} losses for {} tasks", losses.size(), names.size()));
  Fused out;
  Expr body;
  for (size_t k = 0; k < losses.size(); ++k) {
    const LossFunction& fn = losses[k];
    if (fn.reduction != Reduction::Mean)
      throw std::invalid_argument(fmt::format("task '{}': the task loss must be mean-reduced", names[k]));
    if (fn.grouped())
      throw std::invalid_argument(fmt::format(
          "task '{}': a task loss is per row; per-query functions (batch statistics) belong to one program over "
          "every task", names[k]));
    const std::string prefix = fmt::format("t{}_", k);
    const InputDecl* pred = nullptr;
    const InputDecl* label = nullptr;
    for (const InputDecl& in : fn.inputs) {
      const InputDecl** slot = in.role == Role::Prediction ? &pred : in.role == Role::Label ? &label : nullptr;
      if (!slot)
        throw std::invalid_argument(fmt::format(
            "task '{}': loss input '{}' has role '{}'; a task loss takes one prediction and one label",
            names[k], in.name, role_name(in.role)));
      if (*slot)
        throw std::invalid_argument(fmt::format("task '{}': the loss has more than one {} input", names[k], role_name(in.role)));
      *slot = &in;
    }
    if (!pred) throw std::invalid_argument(fmt::format("task '{}': the loss has no prediction input", names[k]));
    std::vector<std::pair<std::string, Expr>> renames = {{pred->name, input(prefix + "pred")}};
    out.fn.inputs.push_back({prefix + "pred", pred->domain, Role::Prediction});
    out.sources.push_back(pred->domain == Domain::Real ? 1 : 0);
    // A loss without a label input still gets one (unused), so every task has
    // the same three inputs.
    renames.push_back({label ? label->name : std::string("label"), input(prefix + "label")});
    out.fn.inputs.push_back({prefix + "label", label ? label->domain : Domain::Binary, Role::Label});
    out.sources.push_back(2);
    out.fn.inputs.push_back({prefix + "w", Domain::Real, Role::Other});
    out.sources.push_back(3);
    const Expr term = input(prefix + "w") * substitute(fn.body, renames);
    body = body ? body + term : term;
  }
  out.fn.body = body * (1.0 / static_cast<double>(losses.size()));
  out.fn.reduction = Reduction::Mean;
  return out;
}

}  // namespace

MultiTaskLoss::MultiTaskLoss(const std::vector<LossFunction>& task_losses,
                             const std::vector<std::string>& task_names, double prob_clip)
    : prob_clip_(prob_clip), loss_([&] {
        Fused fused = fuse(task_losses, task_names);
        whole_program_ = fused.whole_program;
        for (int s : fused.sources) sources_.push_back(static_cast<Source>(s));
        return fused.fn;
      }()) {
  if (prob_clip < 0 || prob_clip >= 0.5) throw std::invalid_argument("MultiTaskLoss: prob_clip must be in [0, 0.5)");
}

at::Tensor MultiTaskLoss::operator()(const MtlOutput& out, const at::Tensor& labels, const at::Tensor& weights) const {
  const int64_t k_tasks = tasks();
  if (out.prob.dim() != 2 || out.prob.size(1) != k_tasks || labels.sizes() != out.prob.sizes() ||
      weights.sizes() != out.prob.sizes())
    throw std::invalid_argument(fmt::format("MultiTaskLoss: expected [n, {}] outputs, labels and weights", k_tasks));
  const at::Tensor prob = prob_clip_ > 0 ? out.prob.clamp(prob_clip_, 1 - prob_clip_) : out.prob;
  std::vector<at::Tensor> inputs;
  inputs.reserve(sources_.size());
  for (size_t i = 0; i < sources_.size(); ++i) {
    const int64_t k = static_cast<int64_t>(i / 3);
    switch (sources_[i]) {
      case Source::Prob: inputs.push_back(prob.select(1, k)); break;
      case Source::Score: inputs.push_back(out.score.select(1, k)); break;
      case Source::Label: inputs.push_back(labels.select(1, k)); break;
      case Source::Weight: inputs.push_back(weights.select(1, k)); break;
    }
  }
  if (!batch_program()) return loss_(inputs);
  const at::Tensor whole_batch = at::tensor({int64_t{0}, prob.size(0)}, at::kLong);
  return loss_(inputs, whole_batch);
}

at::Tensor MultiTaskLoss::per_sample_from_grad(const at::Tensor& weight_grad) const {
  return weight_grad.detach() * static_cast<double>(tasks() * weight_grad.size(0));
}

at::Tensor MultiTaskLoss::per_sample(const MtlOutput& out, const at::Tensor& labels) const {
  torch::AutoGradMode enable(true);
  const at::Tensor weights = at::ones_like(labels, at::kFloat).requires_grad_(true);
  const MtlOutput detached{out.prob.detach(), out.score.detach()};
  const at::Tensor total = (*this)(detached, labels, weights);
  return per_sample_from_grad(torch::autograd::grad({total}, {weights})[0]);
}

}  // namespace losscc::models::mtl
