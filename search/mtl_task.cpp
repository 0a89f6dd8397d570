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

mtl::MtlTrainer::FitResult fit_multi_task(const mtl::MtlDataset& data, const MtlTaskConfig& config,
                                          const std::vector<LossFunction>& losses, uint64_t seed, int epochs,
                                          int patience) {
  mtl::ModelShape shape = config.shape;
  shape.field_sizes = data.field_sizes;
  shape.numerical = static_cast<int64_t>(data.numerical_names.size());
  shape.tasks = data.num_tasks();
  mtl::MtlTrainConfig train = config.train;
  train.seed = seed;
  train.epochs = epochs;
  train.patience = patience;
  mtl::MtlTrainer trainer(mtl::make_mtl_model(config.model, shape, seed), data, losses, config.weighting, train);
  return trainer.fit();
}

EffectFit fit_task_from_scratch(const mtl::MtlDataset& data, const MtlTaskConfig& config, const LossFunction& candidate,
                                uint64_t seed, int epochs, int patience) {
  const int64_t k = task_column(data, config.task);
  std::vector<LossFunction> losses = config.task_losses;
  losses.resize(data.tasks.size(), mtl::default_task_loss());
  losses[static_cast<size_t>(k)] = candidate;
  const mtl::MtlTrainer::FitResult fit = fit_multi_task(data, config, losses, seed, epochs, patience);
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

EffectFit fit_program_from_scratch(const mtl::MtlDataset& data, const MtlTaskConfig& config,
                                   const LossFunction& program, uint64_t seed, int epochs, int patience) {
  const mtl::MtlTrainer::FitResult fit = fit_multi_task(data, config, {program}, seed, epochs, patience);
  EffectFit out;
  out.valid = fit.valid.mean_auc(config.train.auc_weights);
  out.test = fit.test.mean_auc(config.train.auc_weights);
  out.json = {{"tasks", data.tasks}, {"best_epoch", fit.best_epoch}, {"epochs", fit.epochs}, {"seconds", fit.seconds},
              {"valid", {{"auc", out.valid}, {"per_task", fit.valid.to_json(data.tasks)}}},
              {"test", {{"auc", out.test}, {"per_task", fit.test.to_json(data.tasks)}}}};
  return out;
}

MtlTask::MtlTask(const mtl::MtlDataset& data, MtlTaskConfig config) : data_(data), config_(std::move(config)) {
  if (!whole_program()) task_column(data_, config_.task);
}

nlohmann::json MtlTask::identity() const {
  const std::string what = whole_program() ? fmt::format("{} tasks {} (one program)", data_.name, fmt::join(data_.tasks, ", "))
                                           : fmt::format("{} task {}", data_.name, config_.task);
  // The row count tells synthetic data of different sizes apart.
  return {{"data", what}, {"train_rows", data_.train.size()}, {"model", config_.model},
          {"reward_epochs", config_.reward_epochs}, {"reward_patience", config_.reward_patience},
          {"fit_seed", config_.seed}, {"train", config_.train.to_json()}};
}

EffectFit MtlTask::fit(const LossFunction& fn, uint64_t seed, int epochs, int patience) const {
  return whole_program() ? fit_program_from_scratch(data_, config_, fn, seed, epochs, patience)
                         : fit_task_from_scratch(data_, config_, fn, seed, epochs, patience);
}

TrainOutcome MtlTask::reward(const LossFunction& fn, const WorkItem&) const {
  // The trainer compiles the fused program of all task losses; that time
  // counts as training here.
  const auto start = std::chrono::steady_clock::now();
  TrainOutcome out;
  out.reward = fit(fn, config_.seed, config_.reward_epochs, config_.reward_patience).valid;
  out.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

std::vector<NamedLoss> MtlTask::baselines(const std::string& examples_dir) const {
  if (!whole_program()) return example_losses(examples_dir, {"bce", "mse", "hinge", "focal", "maxr", "sumr", "logmin"});
  if (data_.num_tasks() != 2) return {};  // the example programs are two tasks'
  return example_losses(examples_dir, {"mtl_equal", "mtl_fixed", "mtl_chain", "mtl_rmtl_closed_form", "mtl_loss_ratio"});
}

nlohmann::json MtlTask::effectiveness(const std::vector<NamedLoss>& losses, uint64_t seed, int seeds, int workers,
                                      const EffectProgress& progress, const std::atomic<bool>& interrupt) const {
  const EffectFitter fitter = [&](const LossFunction& fn, uint64_t s) {
    return fit(fn, s, config_.train.epochs, config_.train.patience);
  };
  return effectiveness_rows(losses, seed, seeds, workers, fitter, progress, interrupt);
}

std::string MtlTask::format_table(const nlohmann::json& rows) const {
  if (!whole_program()) return format_effectiveness_table(rows);
  const size_t width = name_width(rows, "name", 10);
  std::string out = fmt::format("{:<{}} {:<9} {:>10} {:>18}", "loss", width, "origin", "valid mean", "test mean (± std)");
  for (const std::string& task : data_.tasks) out += fmt::format(" {:>12} {:>12}", task + " AUC", task + " logloss");
  out += fmt::format(" {:>6} {:>8}\n", "epoch", "seconds");
  for (const nlohmann::json* r : by_test_auc(rows)) {
    if (!r->contains("fit")) {
      out += format_error_row(*r, width);
      continue;
    }
    const nlohmann::json& fits = r->at("fits");
    out += fmt::format("{:<{}} {:<9} {:>10.4f} {:>9.4f} ± {:.4f}", r->at("name").get<std::string>(), width,
                       r->at("origin").get<std::string>(), r->at("valid_auc_mean").get<double>(),
                       r->at("test_auc_mean").get<double>(),
                       r->at("test_auc_std").get<double>());
    double seconds = 0;
    for (const nlohmann::json& fit : fits) seconds += fit.at("seconds").get<double>();
    for (const std::string& task : data_.tasks) {
      double auc = 0, logloss = 0;
      for (const nlohmann::json& fit : fits) {
        const nlohmann::json& t = fit.at("test").at("per_task").at(task);
        auc += t.at("auc").get<double>() / static_cast<double>(fits.size());
        logloss += t.at("logloss").get<double>() / static_cast<double>(fits.size());
      }
      out += fmt::format(" {:>12.4f} {:>12.4f}", auc, logloss);
    }
    out += fmt::format(" {:>6} {:>8.1f}\n", r->at("fit").at("best_epoch").get<int>(), seconds);
  }
  out += "valid/test mean: the mean AUC over tasks, mean over the seeds; task AUC, logloss: mean over the seeds; "
         "epoch: the first seed's fit; seconds: all fits\n";
  return out;
}

}  // namespace losscc::search
