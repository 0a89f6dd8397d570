// What a multi-task model is judged by: AUC and logloss per task (see
// models/metrics.h), and where the rows come in sessions, the session-level
// logloss (the mean logloss of each session's rows, averaged over sessions).
// Model selection uses the mean AUC over tasks.
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "models/metrics.h"
#include "models/mtl/data.h"
#include "models/mtl/mtl_model.h"

namespace losscc::models::mtl {

struct TaskMetrics {
  double auc = 0, logloss = 0;
  double session_logloss = 0;  // NaN without sessions
};

struct MtlMetrics {
  std::vector<TaskMetrics> tasks;
  double mean_auc() const;
  // Σ_k weights[k]·AUC_k / Σ_k weights[k]; mean_auc() for no weights.
  double mean_auc(const std::vector<double>& weights) const;
  nlohmann::json to_json(const std::vector<std::string>& task_names) const;
};

// Mean over sessions of the mean clipped BCE of each session's rows (prob,
// labels and session ids [n]); NaN for no rows.
double session_logloss(const at::Tensor& prob, const at::Tensor& labels, const at::Tensor& session);

// prob and labels [n, K]; `session` [n] or undefined.
MtlMetrics compute_mtl_metrics(const at::Tensor& prob, const at::Tensor& labels, const at::Tensor& session);

// The model's metrics over every row of `rows`, in batches, without autograd
// and in eval() mode (the model is left there).
MtlMetrics evaluate(MtlModel& model, const MtlRows& rows, int64_t batch = 8192);

}  // namespace losscc::models::mtl
