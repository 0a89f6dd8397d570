#include "models/metrics.h"

#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace losscc::models {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kClip = 1e-15;

// ROC AUC as the Mann-Whitney statistic: (Σ ranks of positives − P(P+1)/2) / (P·N),
// with 1-based ranks of the probabilities and each tie group given its mean rank.
double exact_auc(const double* prob, const double* label, int64_t n) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return prob[a] < prob[b]; });
  double positive_rank_sum = 0;
  int64_t positives = 0;
  for (int64_t start = 0; start < n;) {
    int64_t end = start;
    while (end < n && prob[order[end]] == prob[order[start]]) ++end;
    const double mean_rank = 0.5 * static_cast<double>(start + 1 + end);  // ranks start+1..end
    for (int64_t k = start; k < end; ++k)
      if (label[order[k]] > 0.5) {
        positive_rank_sum += mean_rank;
        ++positives;
      }
    start = end;
  }
  const int64_t negatives = n - positives;
  if (positives == 0 || negatives == 0) return kNaN;
  const double p = static_cast<double>(positives);
  return (positive_rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(negatives));
}

}  // namespace

nlohmann::json Metrics::to_json() const {
  return {{"auc", auc}, {"logloss", logloss}, {"rmse", rmse}, {"mae", mae}};
}

Metrics compute_metrics(const at::Tensor& prob_in, const at::Tensor& labels_in) {
  const at::Tensor prob = prob_in.detach().to(at::kCPU, at::kDouble).contiguous().view(-1);
  const at::Tensor label = labels_in.detach().to(at::kCPU, at::kDouble).contiguous().view(-1);
  TORCH_CHECK(prob.numel() == label.numel(), "compute_metrics: ", prob.numel(),
              " probabilities for ", label.numel(), " labels");
  const int64_t n = prob.numel();
  if (n == 0) return {kNaN, kNaN, kNaN, kNaN};
  const double* p = prob.data_ptr<double>();
  const double* y = label.data_ptr<double>();

  double logloss = 0, squared = 0, absolute = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double clipped = std::clamp(p[i], kClip, 1 - kClip);
    logloss -= y[i] * std::log(clipped) + (1 - y[i]) * std::log(1 - clipped);
    squared += (p[i] - y[i]) * (p[i] - y[i]);
    absolute += std::abs(p[i] - y[i]);
  }
  const double count = static_cast<double>(n);
  return {exact_auc(p, y, n), logloss / count, std::sqrt(squared / count), absolute / count};
}

}  // namespace losscc::models
