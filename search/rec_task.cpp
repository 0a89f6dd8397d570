#include "search/rec_task.h"

#include <torch/serialize.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <stdexcept>

#include "compiler/language/parse.h"
#include "compiler/passes/build_program.h"
#include "models/metrics.h"
#include "models/rec/native_deep.h"
#include "models/rec/native_mf.h"
#include "runtime/kernel.h"
#include "search/atomic_file.h"

namespace losscc::search {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

RecTaskConfig checked(RecTaskConfig c) {
  const std::vector<std::string>& rewards = rec_reward_names();
  if (std::find(rewards.begin(), rewards.end(), c.reward) == rewards.end())
    throw std::invalid_argument(fmt::format("unknown reward '{}' (scratch, shared)", c.reward));
  return c;
}

}  // namespace

const std::vector<std::string>& rec_reward_names() {
  static const std::vector<std::string> names = {"scratch", "shared"};
  return names;
}

models::FitResult fit_from_scratch(const models::Dataset& data, const LossFunction& fn,
                                   const std::string& model_kind, uint64_t seed, const models::TrainConfig& train) {
  models::TrainConfig config = train;
  config.seed = seed;
  if (model_kind == "biasedmf") {
    models::NativeMfTrainer trainer(data.num_users, data.num_items, seed, fn, config);
    return trainer.fit(data);
  }
  if (model_kind == "deepmodel") {
    models::NativeDeepTrainer trainer(data.num_users, data.num_items, seed, fn, config);
    return trainer.fit(data);
  }
  models::Trainer trainer(models::make_model(model_kind, data.num_users, data.num_items, seed), fn, config);
  return trainer.fit(data);
}

TrainOutcome scratch_reward(const models::Dataset& data, const LossFunction& fn, const RecTaskConfig& config) {
  TrainOutcome out;
  models::TrainConfig train = config.train;
  train.epochs = config.reward_epochs;
  train.patience = config.reward_patience;
  // Compile first, so that compile time is told apart from training; the
  // fit then finds the kernel in the runtime's cache.
  const auto t0 = std::chrono::steady_clock::now();
  rt::get_kernel(build_program(fn), rt::CompileOptions{});
  out.compile_seconds = seconds_since(t0);
  const auto t1 = std::chrono::steady_clock::now();
  // Every candidate starts from the same model and sees the same batches.
  const models::FitResult fit = fit_from_scratch(data, fn, config.model, config.seed, train);
  out.train_seconds = seconds_since(t1);
  // The best epoch's validation AUC; a fit whose AUC was never a number has
  // no best epoch and rejects the candidate.
  out.reward = fit.best_epoch > 0 ? fit.valid.auc : std::numeric_limits<double>::quiet_NaN();
  return out;
}

RecTask::RecTask(const models::Dataset& data, RecTaskConfig config) : data_(data), config_(checked(std::move(config))) {
  if (config_.shared_reward()) {
    shared_ = models::make_model(config_.model, data.num_users, data.num_items, config_.seed);
    shared_auc_ = models::evaluate(*shared_, data.valid).auc;
  }
}

nlohmann::json RecTask::identity() const {
  nlohmann::json id = {{"data", data_.name},         {"model", config_.model},
                       {"reward", config_.reward},   {"reward_epochs", config_.reward_epochs},
                       {"reward_patience", config_.reward_patience}, {"fit_seed", config_.seed},
                       {"train", config_.train.to_json()}};
  if (config_.shared_reward()) id["candidate_steps"] = config_.candidate_steps;
  return id;
}

nlohmann::json RecTask::summary() const {
  nlohmann::json s = identity();
  if (config_.shared_reward()) {
    s["model_steps"] = config_.model_steps;
    s["shared_model_valid_auc"] = shared_auc_;
  }
  return s;
}

TrainOutcome RecTask::reward(const LossFunction& fn, const WorkItem& item) const {
  return config_.shared_reward() ? shared_reward(fn, item.phase) : scratch_reward(data_, fn, config_);
}

TrainOutcome RecTask::shared_reward(const LossFunction& fn, int64_t phase) const {
  TrainOutcome out;
  auto t0 = std::chrono::steady_clock::now();
  {
    // Build the kernel once on a one-element batch, so compile time is told
    // apart from training; the Trainer's own CompiledLoss then hits the
    // runtime's kernel cache. The grad set (pred) is the Trainer's.
    CompiledLoss warm(fn);
    std::vector<at::Tensor> args;
    for (const InputDecl& in : fn.inputs) {
      at::Tensor x = at::full({1}, in.role == Role::Label ? 1.0 : 0.5);
      if (in.role == Role::Prediction) x.requires_grad_(true);
      args.push_back(x);
    }
    warm(args);
  }
  out.compile_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  std::shared_ptr<models::RecModel> copy = shared_->clone_model();
  models::TrainConfig train = config_.train;
  train.seed = config_.seed + static_cast<uint64_t>(phase);  // same batches within a phase
  models::Trainer trainer(copy, fn, train);
  trainer.train_steps(data_.train, config_.candidate_steps);
  out.reward = models::evaluate(*copy, data_.valid).auc;
  out.train_seconds = seconds_since(t0);
  return out;
}

std::optional<bool> RecTask::model_phase(const std::vector<FoundLoss>& phase_best, int64_t phase) {
  if (!config_.shared_reward()) return std::nullopt;
  for (const FoundLoss& candidate : phase_best) {
    std::shared_ptr<models::RecModel> copy = shared_->clone_model();
    models::TrainConfig train = config_.train;
    train.seed = config_.seed + 7919 * static_cast<uint64_t>(phase + 1);
    try {
      models::Trainer trainer(copy, parse_loss(candidate.source, "candidate.loss"), train);
      if (config_.model_steps > 0)
        trainer.train_steps(data_.train, config_.model_steps);
      else
        trainer.train_epoch(data_.train);
    } catch (const models::NonFiniteLoss&) {
      continue;
    }
    const double auc = models::evaluate(*copy, data_.valid).auc;
    if (auc >= shared_auc_) {
      shared_ = std::move(copy);
      shared_auc_ = auc;
      ++model_version_;
      return true;
    }
  }
  return false;
}

nlohmann::json RecTask::save_state(const std::string& dir) {
  if (!shared_) return nlohmann::json::object();
  const std::string file = fmt::format("model-{}.pt", model_version_);
  if (model_version_ != saved_model_version_) {
    produce_file_atomically(dir + "/" + file, [&](const std::string& tmp) {
      torch::serialize::OutputArchive archive;
      shared_->save(archive);
      archive.save_to(tmp);
    });
    saved_model_version_ = model_version_;
  }
  return {{"files", {file}}, {"model_version", model_version_}, {"shared_model_auc", shared_auc_}};
}

void RecTask::restore_state(const nlohmann::json& state, const std::string& dir) {
  if (!shared_) return;
  model_version_ = saved_model_version_ = state.at("model_version");
  shared_auc_ = state.at("shared_model_auc");
  torch::serialize::InputArchive archive;
  archive.load_from(dir + "/" + state.at("files").at(0).get<std::string>());
  shared_->load(archive);
}

std::string RecTask::progress_note() const {
  return shared_ ? fmt::format("shared model AUC {:.4f}", shared_auc_) : std::string();
}

std::vector<NamedLoss> RecTask::baselines(const std::string& examples_dir) const {
  return example_losses(examples_dir, {"bce", "mse", "hinge", "focal", "maxr", "sumr", "logmin"});
}

nlohmann::json RecTask::effectiveness(const std::vector<NamedLoss>& losses, uint64_t seed, int seeds, int workers,
                                      const EffectProgress& progress, const std::atomic<bool>& interrupt) const {
  const EffectFitter fit = [&](const LossFunction& fn, uint64_t s) {
    const models::FitResult result = fit_from_scratch(data_, fn, config_.model, s, config_.train);
    return EffectFit{result.to_json(), result.valid.auc, result.test.auc};
  };
  return effectiveness_rows(losses, seed, seeds, workers, fit, progress, interrupt);
}

}  // namespace losscc::search
