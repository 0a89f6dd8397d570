#include "models/mtl/mtl_metrics.h"

#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace losscc::models::mtl {

double MtlMetrics::mean_auc() const {
  double total = 0;
  for (const TaskMetrics& t : tasks) total += t.auc;
  return tasks.empty() ? std::numeric_limits<double>::quiet_NaN() : total / static_cast<double>(tasks.size());
}

double MtlMetrics::mean_auc(const std::vector<double>& weights) const {
  if (weights.empty()) return mean_auc();
  double total = 0, weight = 0;
  for (size_t k = 0; k < tasks.size() && k < weights.size(); ++k) {
    total += weights[k] * tasks[k].auc;
    weight += weights[k];
  }
  return total / weight;
}

nlohmann::json MtlMetrics::to_json(const std::vector<std::string>& names) const {
  nlohmann::json j = nlohmann::json::object();
  for (size_t k = 0; k < tasks.size(); ++k) {
    nlohmann::json t = {{"auc", tasks[k].auc}, {"logloss", tasks[k].logloss}};
    if (!std::isnan(tasks[k].session_logloss)) t["session_logloss"] = tasks[k].session_logloss;
    j[k < names.size() ? names[k] : std::to_string(k)] = t;
  }
  j["mean_auc"] = mean_auc();
  return j;
}

double session_logloss(const at::Tensor& prob_in, const at::Tensor& labels_in, const at::Tensor& session_in) {
  const at::Tensor prob = prob_in.detach().to(at::kDouble).contiguous().view(-1);
  const at::Tensor label = labels_in.detach().to(at::kDouble).contiguous().view(-1);
  const at::Tensor session = session_in.contiguous();
  const int64_t n = prob.numel();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  const double* p = prob.data_ptr<double>();
  const double* y = label.data_ptr<double>();
  const int64_t* s = session.data_ptr<int64_t>();
  const int64_t sessions = session.max().item<int64_t>() + 1;
  std::vector<double> sum(sessions, 0.0);
  std::vector<int64_t> count(sessions, 0);
  for (int64_t i = 0; i < n; ++i) {
    const double c = std::clamp(p[i], 1e-15, 1 - 1e-15);
    sum[s[i]] -= y[i] * std::log(c) + (1 - y[i]) * std::log(1 - c);
    ++count[s[i]];
  }
  double total = 0;
  int64_t used = 0;
  for (int64_t j = 0; j < sessions; ++j)
    if (count[j] > 0) {
      total += sum[j] / static_cast<double>(count[j]);
      ++used;
    }
  return total / static_cast<double>(used);
}

MtlMetrics compute_mtl_metrics(const at::Tensor& prob, const at::Tensor& labels, const at::Tensor& session) {
  MtlMetrics m;
  for (int64_t k = 0; k < prob.size(1); ++k) {
    const Metrics single = compute_metrics(prob.select(1, k), labels.select(1, k));
    TaskMetrics t{single.auc, single.logloss, std::numeric_limits<double>::quiet_NaN()};
    if (session.defined()) t.session_logloss = session_logloss(prob.select(1, k), labels.select(1, k), session);
    m.tasks.push_back(t);
  }
  return m;
}

MtlMetrics evaluate(MtlModel& model, const MtlRows& rows, int64_t batch) {
  torch::NoGradGuard no_grad;
  model.eval();
  std::vector<at::Tensor> probs;
  for (int64_t start = 0; start < rows.size(); start += batch) {
    const int64_t end = std::min(start + batch, rows.size());
    probs.push_back(model.forward(rows.categorical.slice(0, start, end), rows.numerical.slice(0, start, end)).prob);
  }
  const at::Tensor prob = probs.empty() ? at::empty({0, rows.labels.size(1)}, at::kFloat) : at::cat(probs);
  return compute_mtl_metrics(prob, rows.labels, rows.session);
}

}  // namespace losscc::models::mtl
