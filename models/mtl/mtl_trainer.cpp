#include "models/mtl/mtl_trainer.h"

#include <torch/autograd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "models/module_state.h"

namespace losscc::models::mtl {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<LossFunction> losses_or_default(const std::vector<LossFunction>& given, int64_t tasks) {
  if (!given.empty()) return given;
  return std::vector<LossFunction>(static_cast<size_t>(tasks), default_task_loss());
}

}  // namespace

nlohmann::json MtlTrainConfig::to_json() const {
  nlohmann::json j = {{"optimizer", "adam"}, {"lr", lr},           {"weight_decay", weight_decay}, {"batch", batch},
                      {"epochs", epochs},    {"patience", patience}, {"seed", seed},               {"prob_clip", prob_clip}};
  if (!auc_weights.empty()) j["auc_weights"] = auc_weights;
  return j;
}

nlohmann::json MtlTrainer::FitResult::to_json(const std::vector<std::string>& tasks) const {
  nlohmann::json log = nlohmann::json::array();
  for (const EpochLog& e : history)
    log.push_back({{"epoch", e.epoch},
                   {"train_loss", e.train_loss},
                   {"valid", e.valid.to_json(tasks)},
                   {"test", e.test.to_json(tasks)},
                   {"weighting", e.weighting},
                   {"seconds", e.seconds},
                   {"train_seconds", e.train_seconds}});
  return {{"valid", valid.to_json(tasks)}, {"test", test.to_json(tasks)}, {"best_epoch", best_epoch},
          {"epochs", epochs},              {"seconds", seconds},           {"history", log}};
}

MtlTrainer::MtlTrainer(std::shared_ptr<MtlModel> model, const MtlDataset& data,
                       const std::vector<LossFunction>& task_losses, const WeightingConfig& weighting,
                       MtlTrainConfig config)
    : model_(std::move(model)), data_(data),
      loss_(losses_or_default(task_losses, data.num_tasks()), data.tasks, config.prob_clip),
      weighting_config_(weighting), config_(std::move(config)), rng_(config_.seed) {
  if (!model_) throw std::invalid_argument("MtlTrainer: no model");
  if (model_->shape().tasks != data.num_tasks())
    throw std::invalid_argument(fmt::format("MtlTrainer: the model has {} tasks, the data {}",
                                            model_->shape().tasks, data.num_tasks()));
  if (config_.batch < 1) throw std::invalid_argument("MtlTrainer: batch must be at least 1");
  if (config_.lr <= 0 || config_.weight_decay < 0) throw std::invalid_argument("MtlTrainer: lr must be > 0, weight decay >= 0");
  if (data.train.size() == 0) throw std::invalid_argument("MtlTrainer: no training rows");
  if (!config_.auc_weights.empty()) {
    const auto& w = config_.auc_weights;
    if (static_cast<int64_t>(w.size()) != data.num_tasks())
      throw std::invalid_argument(fmt::format("{} AUC weights given for {} tasks", w.size(), data.num_tasks()));
    if (std::any_of(w.begin(), w.end(), [](double x) { return !(x >= 0) || !std::isfinite(x); }) ||
        std::all_of(w.begin(), w.end(), [](double x) { return x == 0; }))
      throw std::invalid_argument("AUC weights must be finite, >= 0 and not all 0");
  }
  if (weighting.method == "rmtl" && weighting.rmtl.pretrain_epochs >= config_.epochs)
    throw std::invalid_argument(fmt::format(
        "rmtl: {} pretraining epochs leave none of the {} epochs for the critics' weights",
        weighting.rmtl.pretrain_epochs, config_.epochs));
  if (loss_.whole_program() && weighting.method != "equal")
    throw std::invalid_argument(fmt::format(
        "a multi-task loss program weighs its tasks itself: use --weighting equal, not {}", weighting.method));
  weighting_config_.seed = config_.seed;
  if (weighting_config_.rmtl.critic_batch == 0) weighting_config_.rmtl.critic_batch = config_.batch;
  weighting_ = make_weighting(weighting_config_, *model_, data.num_tasks());
  std::vector<at::Tensor> params = model_->parameters();
  for (const at::Tensor& p : weighting_->parameters()) params.push_back(p);
  optimizer_ = std::make_unique<torch::optim::Adam>(
      params, torch::optim::AdamOptions(config_.lr).weight_decay(config_.weight_decay));
}

MtlTrainer::~MtlTrainer() = default;

std::vector<double> MtlTrainer::step(int epoch, const at::Tensor& rows) {
  const MtlRows batch = data_.train.select(rows);
  model_->train();
  const MtlOutput out = model_->forward(batch.categorical, batch.numerical);
  const Step info{*model_, data_.train, rows, batch, out, loss_, epoch};
  Weighting::Terms terms = weighting_->terms(info);
  at::Tensor weights = terms.weights;
  if (weights.requires_grad()) weights.retain_grad();
  else weights = weights.detach().to(at::kFloat).contiguous().requires_grad_(true);
  at::Tensor objective = loss_(out, batch.labels, weights);
  if (terms.extra.defined()) objective = objective + terms.extra;

  optimizer_->zero_grad();
  objective.backward();
  const double value = objective.item<double>();
  at::Tensor grad_total = at::zeros({}, at::kDouble);
  for (const at::Tensor& p : model_->parameters())
    if (p.grad().defined()) grad_total += p.grad().sum().to(at::kDouble);
  if (!std::isfinite(value) || !std::isfinite(grad_total.item<double>()))
    throw NonFiniteLoss(fmt::format("non-finite training objective ({}) or gradient in epoch {}", value, epoch));
  optimizer_->step();

  const at::Tensor per_sample = loss_.per_sample_from_grad(weights.grad());
  weighting_->after_step(info, per_sample);
  const at::Tensor means = per_sample.mean(0).to(at::kDouble).contiguous();
  return std::vector<double>(means.data_ptr<double>(), means.data_ptr<double>() + means.numel());
}

std::vector<double> MtlTrainer::train_epoch(int epoch) {
  weighting_->begin_epoch(epoch, *model_, data_.train);
  const int64_t n = data_.train.size();
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng_() % static_cast<uint64_t>(i + 1)]);
  const at::Tensor all = at::tensor(order, at::kLong);
  std::vector<double> totals(static_cast<size_t>(data_.num_tasks()), 0.0);
  for (int64_t start = 0; start < n; start += config_.batch) {
    const int64_t end = std::min(start + config_.batch, n);
    const std::vector<double> means = step(epoch, all.slice(0, start, end));
    for (size_t k = 0; k < totals.size(); ++k) totals[k] += means[k] * static_cast<double>(end - start);
  }
  for (double& t : totals) t /= static_cast<double>(n);
  weighting_->end_epoch(totals);
  return totals;
}

MtlTrainer::FitResult MtlTrainer::fit(const std::function<void(const EpochLog&)>& on_epoch) {
  const auto start = std::chrono::steady_clock::now();
  FitResult result;
  std::shared_ptr<MtlModel> best_model;
  double best_auc = -1;
  // rmtl's equal-weight pretraining epochs are not candidates for the result.
  const int first_candidate = weighting_config_.method == "rmtl" ? weighting_config_.rmtl.pretrain_epochs + 1 : 1;
  for (int epoch = 1; epoch <= config_.epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    EpochLog log;
    log.epoch = epoch;
    log.train_loss = train_epoch(epoch);
    log.train_seconds = seconds_since(epoch_start);
    log.valid = evaluate(*model_, data_.valid);
    log.test = evaluate(*model_, data_.test);
    log.weighting = weighting_->state();
    log.seconds = seconds_since(epoch_start);
    result.history.push_back(log);
    result.epochs = epoch;
    if (on_epoch) on_epoch(log);
    if (epoch < first_candidate) continue;
    const double auc = log.valid.mean_auc(config_.auc_weights);
    if (auc > best_auc) {  // a NaN AUC never counts as best
      best_auc = auc;
      result.best_epoch = epoch;
      result.valid = log.valid;
      result.test = log.test;
      best_model = model_->clone_model();
    }
    if (epoch - std::max(result.best_epoch, first_candidate - 1) >= config_.patience) break;
  }
  if (best_model) {
    copy_state(*best_model, *model_);
  } else if (!result.history.empty()) {  // no epoch had a defined validation AUC: report the last
    result.best_epoch = result.history.back().epoch;
    result.valid = result.history.back().valid;
    result.test = result.history.back().test;
  }
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace losscc::models::mtl
