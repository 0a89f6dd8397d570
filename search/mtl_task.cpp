#include "search/mtl_task.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <stdexcept>


namespace losscc::search {

namespace mtl = models::mtl;

int64_t task_column(const mtl::MtlDataset& data, const std::string& task) {
  const auto it = std::find(data.tasks.begin(), data.tasks.end(), task);
  if (it == data.tasks.end())
    throw std::invalid_argument(fmt::format("no task '{}' in {} (tasks: {})", task, data.name, fmt::join(data.tasks, ", ")));
  return it - data.tasks.begin();
}

EffectFit fit_task_from_scratch(const mtl::MtlDataset& data, const MtlTaskConfig& config, const LossFunction& candidate,
                                uint64_t seed, int epochs, int patience) {
  const int64_t k = task_column(data, config.task);
  std::vector<LossFunction> losses = config.task_losses;
  losses.resize(data.tasks.size(), mtl::default_task_loss());
  losses[static_cast<size_t>(k)] = candidate;
  mtl::ModelShape shape = config.shape;
  shape.field_sizes = data.field_sizes;
  shape.numerical = static_cast<int64_t>(data.numerical_names.size());
  shape.tasks = data.num_tasks();
  mtl::MtlTrainConfig train = config.train;
  train.seed = seed;
  train.epochs = epochs;
  train.patience = patience;

  mtl::MtlTrainer trainer(mtl::make_mtl_model(config.model, shape, seed), data, losses, config.weighting, train);
  const mtl::MtlTrainer::FitResult fit = trainer.fit();
  // The epoch where this task's validation AUC was best (NaN never is).
  const mtl::MtlTrainer::EpochLog* best = nullptr;
  for (const auto& e : fit.history)
    if (!best || e.valid.tasks[k].auc > best->valid.tasks[k].auc) best = &e;
  EffectFit out;
  out.valid = best ? best->valid.tasks[k].auc : std::numeric_limits<double>::quiet_NaN();
  out.test = best ? best->test.tasks[k].auc : std::numeric_limits<double>::quiet_NaN();
  out.json = {{"task", config.task}, {"epochs", fit.epochs}, {"seconds", fit.seconds}};
  if (best) {
    out.json["best_epoch"] = best->epoch;
    out.json["valid"] = {{"auc", out.valid}, {"logloss", best->valid.tasks[k].logloss}};
    out.json["test"] = {{"auc", out.test}, {"logloss", best->test.tasks[k].logloss}};
    out.json["all_tasks_test"] = best->test.to_json(data.tasks);
  }
  return out;
}

MtlTask::MtlTask(const mtl::MtlDataset& data, MtlTaskConfig config) : data_(data), config_(std::move(config)) {
  task_column(data_, config_.task);
}

nlohmann::json MtlTask::identity() const {
  return {{"data", fmt::format("{} task {}", data_.name, config_.task)}, {"model", config_.model},
          {"reward_epochs", config_.reward_epochs}, {"reward_patience", config_.reward_patience},
          {"fit_seed", config_.seed}, {"train", config_.train.to_json()}};
}

TrainOutcome MtlTask::reward(const LossFunction& fn, const WorkItem&) const {
  // The trainer compiles the fused program of all task losses; that time
  // counts as training here.
  const auto start = std::chrono::steady_clock::now();
  TrainOutcome out;
  out.reward = fit_task_from_scratch(data_, config_, fn, config_.seed, config_.reward_epochs, config_.reward_patience).valid;
  out.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

std::vector<NamedLoss> MtlTask::baselines(const std::string& examples_dir) const {
  return example_losses(examples_dir, {"bce", "mse", "hinge", "focal", "maxr", "sumr", "logmin"});
}

nlohmann::json MtlTask::effectiveness(const std::vector<NamedLoss>& losses, uint64_t seed, int seeds, int workers,
                                      const EffectProgress& progress, const std::atomic<bool>& interrupt) const {
  const EffectFitter fit = [&](const LossFunction& fn, uint64_t s) {
    return fit_task_from_scratch(data_, config_, fn, s, config_.train.epochs, config_.train.patience);
  };
  return effectiveness_rows(losses, seed, seeds, workers, fit, progress, interrupt);
}

}  // namespace losscc::search
