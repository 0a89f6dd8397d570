// The metrics of predicted probabilities against 0/1 labels that the
// recommender and multi-task families report.
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdint>


namespace losscc::models {

struct Metrics {
  double auc = 0;      // exact ROC AUC; tied scores count half (average ranks)
  double logloss = 0;  // mean binary cross-entropy, prob clipped to [1e-15, 1 - 1e-15]
  double rmse = 0;     // sqrt(mean((prob - label)^2))
  double mae = 0;      // mean(|prob - label|)
  nlohmann::json to_json() const;
};

// Metrics of predicted probabilities against 0/1 labels (any shapes with the
// same number of elements, computed in double). AUC is NaN when the labels
// are all of one class; every metric is NaN for no rows.
Metrics compute_metrics(const at::Tensor& prob, const at::Tensor& labels);

}  // namespace losscc::models
