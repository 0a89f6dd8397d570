#include "search/space/task_signature.h"

#include <algorithm>
#include <cmath>

#include "compiler/passes/check.h"

namespace losscc::search {

namespace {

TaskSignature filled(int tasks, double value) {
  const size_t n = multi_task_probes(tasks).points.size();
  TaskSignature s;
  s.tasks = tasks;
  s.value.assign(n, value);
  s.grad.assign(2 * static_cast<size_t>(tasks), std::vector<double>(n, 0.0));
  return s;
}

// Input j's value at every probe point, with ∂/∂ input j = 1.
TaskSignature input_leaf(int tasks, size_t j) {
  TaskSignature s = filled(tasks, 0);
  const auto& points = multi_task_probes(tasks).points;
  for (size_t i = 0; i < points.size(); ++i) {
    s.value[i] = points[i][j];
    s.grad[j][i] = 1;
  }
  return s;
}

}  // namespace

TaskSignature TaskSignature::prediction(int tasks, int task) { return input_leaf(tasks, 2 * static_cast<size_t>(task)); }
TaskSignature TaskSignature::label(int tasks, int task) { return input_leaf(tasks, 2 * static_cast<size_t>(task) + 1); }
TaskSignature TaskSignature::constant(int tasks, double c) { return filled(tasks, c); }

TaskSignature TaskSignature::bce(int tasks, int task, bool held) {
  TaskSignature s = filled(tasks, 0);
  const size_t pj = 2 * static_cast<size_t>(task), yj = pj + 1;
  const auto& points = multi_task_probes(tasks).points;
  for (size_t i = 0; i < points.size(); ++i) {
    const double p = points[i][pj], y = points[i][yj];
    s.value[i] = -(y * std::log(p) + (1 - y) * std::log(1 - p));
    if (held) continue;
    s.grad[pj][i] = -y / p + (1 - y) / (1 - p);
    s.grad[yj][i] = std::log(1 - p) - std::log(p);
  }
  return s;
}

TaskSignature TaskSignature::batch_mean_bce(int tasks, int task) {
  const TaskSignature loss = bce(tasks, task, true);
  double sum = 0;
  for (double v : loss.value) sum += v;
  TaskSignature s = filled(tasks, sum / static_cast<double>(loss.value.size()));
  s.batch_means = uint32_t{1} << task;
  return s;
}

bool TaskSignature::finite() const {
  auto ok = [](const std::vector<double>& v) { return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); }); };
  return ok(value) && std::all_of(grad.begin(), grad.end(), ok);
}

bool TaskSignature::same_as(const TaskSignature& other, double rel_tol) const {
  if (batch_means != other.batch_means) return false;
  if (!all_close(value, other.value, rel_tol)) return false;
  for (size_t j = 0; j < grad.size(); ++j)
    if (!all_close(grad[j], other.grad[j], rel_tol)) return false;
  return true;
}

bool TaskSignature::passes_check() const { return passes_multi_task_probes(tasks, value, grad); }

void TaskTemplate::compose(const TaskSignature& a, const TaskSignature& b, TaskSignature& out) {
  const size_t n = a.value.size(), inputs = a.grad.size();
  out.tasks = a.tasks;
  out.batch_means = a.batch_means | (op_.binary() ? b.batch_means : 0);
  out.value.resize(n);
  out.grad.resize(inputs);
  for (std::vector<double>& g : out.grad) g.resize(n);
  const bool binary = op_.binary();
  double o[3];
  for (size_t i = 0; i < n; ++i) {
    op_.evaluate(a.value[i], binary ? b.value[i] : 0.0, o);
    out.value[i] = o[0];
    // The chain rule; a zero partial contributes nothing, even against an
    // infinite operand gradient (as the symbolic gradient drops the term).
    for (size_t j = 0; j < inputs; ++j) {
      double d = o[1] != 0 ? o[1] * a.grad[j][i] : 0.0;
      if (binary && o[2] != 0) d += o[2] * b.grad[j][i];
      out.grad[j][i] = d;
    }
  }
}

}  // namespace losscc::search
