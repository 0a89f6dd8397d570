#include "models/rec/trainer.h"

#include <torch/autograd.h>
#include <torch/optim/adagrad.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <chrono>
#include <cmath>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace losscc::models {

namespace {

using Parameters = std::vector<at::Tensor>;
using OptimizerFactory =
    std::function<std::unique_ptr<torch::optim::Optimizer>(Parameters, double lr, double decay)>;

const std::vector<std::pair<std::string, OptimizerFactory>>& optimizers() {
  static const std::vector<std::pair<std::string, OptimizerFactory>> table = {
      {"gd",
       [](Parameters p, double lr, double decay) {
         return std::make_unique<torch::optim::SGD>(
             std::move(p), torch::optim::SGDOptions(lr).weight_decay(decay));
       }},
      {"adagrad",
       [](Parameters p, double lr, double decay) {
         return std::make_unique<torch::optim::Adagrad>(
             std::move(p), torch::optim::AdagradOptions(lr).weight_decay(decay));
       }},
      {"adam",
       [](Parameters p, double lr, double decay) {
         return std::make_unique<torch::optim::Adam>(
             std::move(p), torch::optim::AdamOptions(lr).weight_decay(decay));
       }},
  };
  return table;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [name, factory] : optimizers()) out.push_back(name);
    return out;
  }();
  return names;
}

nlohmann::json TrainConfig::to_json() const {
  return {{"optimizer", optimizer}, {"lr", lr},
          {"l2", l2},               {"batch", batch},
          {"epochs", epochs},       {"patience", patience},
          {"seed", seed},           {"l2_in_loss", l2_in_loss},
          {"weight_decay", weight_decay}, {"grad_clip", grad_clip},
          {"shuffle", shuffle},     {"loss_input", loss_input},
          {"prob_clip", prob_clip}};
}

nlohmann::json FitResult::to_json() const {
  nlohmann::json log = nlohmann::json::array();
  for (const EpochLog& e : history)
    log.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"valid", e.valid.to_json()},
                   {"test", e.test.to_json()}, {"seconds", e.seconds}});
  return {{"valid", valid.to_json()}, {"test", test.to_json()}, {"best_epoch", best_epoch},
          {"epochs", epochs},         {"seconds", seconds},       {"history", log}};
}

std::vector<LossSource> bind_loss_inputs(const LossFunction& loss, const TrainConfig& config) {
  if (config.batch < 1) throw std::invalid_argument("Trainer: batch must be at least 1");
  if (config.prob_clip < 0 || config.prob_clip >= 0.5)
    throw std::invalid_argument("Trainer: prob_clip must be in [0, 0.5)");
  if (config.loss_input != "prob" && config.loss_input != "score")
    throw std::invalid_argument(
        fmt::format("Trainer: loss_input must be 'prob' or 'score', not '{}'", config.loss_input));
  std::vector<LossSource> sources;
  bool has_prediction = false;
  for (const InputDecl& in : loss.inputs) {
    switch (in.role) {
      case Role::Prediction:
        has_prediction = true;
        if (in.domain == Domain::Probability) sources.push_back(LossSource::Prob);
        else if (in.domain == Domain::Real) sources.push_back(LossSource::Score);
        else sources.push_back(config.loss_input == "prob" ? LossSource::Prob : LossSource::Score);
        break;
      case Role::Label:
        sources.push_back(LossSource::Label);
        break;
      default:
        throw std::invalid_argument(fmt::format(
            "Trainer: loss input '{}' has role '{}'; a pointwise trainer feeds only pred and label",
            in.name, role_name(in.role)));
    }
  }
  if (!has_prediction) throw std::invalid_argument("Trainer: the loss has no prediction input");
  return sources;
}

Trainer::Trainer(std::shared_ptr<RecModel> model, const LossFunction& loss, TrainConfig config)
    : Trainer(std::move(model), loss, std::move(config), CompiledLoss(loss)) {}

Trainer::Trainer(std::shared_ptr<RecModel> model, const LossFunction& loss, TrainConfig config,
                 BatchLoss batch_loss)
    : model_(std::move(model)), loss_(std::move(batch_loss)), config_(std::move(config)), rng_(config_.seed) {
  if (!model_) throw std::invalid_argument("Trainer: no model");
  sources_ = bind_loss_inputs(loss, config_);

  for (const auto& [name, factory] : optimizers())
    if (name == config_.optimizer)
      optimizer_ = factory(model_->parameters(), config_.lr, config_.weight_decay ? config_.l2 : 0.0);
  if (!optimizer_)
    throw std::invalid_argument(fmt::format("Trainer: unknown optimizer '{}' (known: {})",
                                            config_.optimizer, fmt::join(optimizer_names(), ", ")));
}

Trainer::~Trainer() = default;

RecModel& Trainer::model() { return *model_; }

std::vector<int64_t> epoch_order(int64_t rows, bool shuffle, std::mt19937_64& rng) {
  std::vector<int64_t> order(rows);
  for (int64_t i = 0; i < rows; ++i) order[i] = i;
  if (shuffle)
    for (int64_t i = rows - 1; i > 0; --i)
      std::swap(order[i], order[rng() % static_cast<uint64_t>(i + 1)]);
  return order;
}

void Trainer::start_epoch(int64_t rows) {
  order_ = at::tensor(epoch_order(rows, config_.shuffle, rng_), at::kLong);
  cursor_ = 0;
}

double Trainer::step(const Interactions& batch) {
  model_->train();
  const ModelOutput out = model_->forward(batch.users, batch.items);
  const at::Tensor prob =
      config_.prob_clip > 0 ? out.prob.clamp(config_.prob_clip, 1 - config_.prob_clip) : out.prob;
  std::vector<at::Tensor> inputs;
  inputs.reserve(sources_.size());
  for (LossSource s : sources_)
    inputs.push_back(s == LossSource::Prob ? prob : s == LossSource::Score ? out.score : batch.labels);
  const at::Tensor loss = loss_(inputs);

  at::Tensor objective = loss;
  if (config_.l2_in_loss && config_.l2 != 0) {
    at::Tensor squares = at::zeros({}, at::kFloat);
    for (const at::Tensor& p : model_->parameters()) squares = squares + p.pow(2).sum();
    objective = objective + config_.l2 * squares;
  }
  optimizer_->zero_grad();
  objective.backward();

  // One host read for the loss and one for all gradients: a NaN or inf
  // anywhere makes its sum non-finite.
  const double value = loss.item<double>();
  at::Tensor grad_total = at::zeros({}, at::kDouble);
  for (const at::Tensor& p : model_->parameters())
    if (p.grad().defined()) grad_total += p.grad().sum().to(at::kDouble);
  const double grad_sum = grad_total.item<double>();
  if (!std::isfinite(value) || !std::isfinite(grad_sum))
    throw NonFiniteLoss(fmt::format("non-finite training loss ({}) or gradient (sum {})", value, grad_sum));

  if (config_.grad_clip > 0)
    for (const at::Tensor& p : model_->parameters())
      if (p.grad().defined()) p.mutable_grad().clamp_(-config_.grad_clip, config_.grad_clip);
  optimizer_->step();
  return value;
}

double Trainer::train_steps(const Interactions& train, int64_t steps) {
  if (train.size() == 0) throw std::invalid_argument("Trainer: no training rows");
  if (!order_.defined() || order_.size(0) != train.size()) start_epoch(train.size());
  double total = 0;
  for (int64_t s = 0; s < steps; ++s) {
    if (cursor_ >= order_.size(0)) start_epoch(train.size());
    const int64_t end = std::min(cursor_ + config_.batch, order_.size(0));
    total += step(train.select(order_.slice(0, cursor_, end)));
    cursor_ = end;
  }
  return steps > 0 ? total / static_cast<double>(steps) : 0.0;
}

double Trainer::train_epoch(const Interactions& train) {
  if (train.size() == 0) throw std::invalid_argument("Trainer: no training rows");
  if (!order_.defined() || order_.size(0) != train.size() || cursor_ >= order_.size(0))
    start_epoch(train.size());
  const int64_t remaining = order_.size(0) - cursor_;
  return train_steps(train, (remaining + config_.batch - 1) / config_.batch);
}

FitResult fit_epochs(const TrainConfig& config, const Dataset& data, const FitHooks& hooks,
                     const std::function<void(const EpochLog&)>& on_epoch) {
  const auto start = std::chrono::steady_clock::now();
  FitResult result;
  double best_auc = -1;
  for (int epoch = 1; epoch <= config.epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    EpochLog log{epoch, hooks.train_epoch(), {}, {}, 0};
    log.valid = hooks.evaluate(data.valid);
    log.test = hooks.evaluate(data.test);
    log.seconds = seconds_since(epoch_start);
    result.history.push_back(log);
    result.epochs = epoch;
    if (on_epoch) on_epoch(log);

    if (log.valid.auc > best_auc) {  // a NaN AUC never counts as best
      best_auc = log.valid.auc;
      result.best_epoch = epoch;
      result.valid = log.valid;
      result.test = log.test;
      hooks.save_best();
    }
    if (epoch - result.best_epoch >= config.patience) break;
  }
  if (result.best_epoch > 0) hooks.restore_best();
  result.seconds = seconds_since(start);
  return result;
}

FitResult Trainer::fit(const Dataset& data, const std::function<void(const EpochLog&)>& on_epoch) {
  std::shared_ptr<RecModel> best_model;
  FitHooks hooks;
  hooks.train_epoch = [&] { return train_epoch(data.train); };
  hooks.evaluate = [&](const Interactions& rows) { return models::evaluate(*model_, rows); };
  hooks.save_best = [&] { best_model = model_->clone_model(); };
  hooks.restore_best = [&] { copy_state(*best_model, *model_); };
  return fit_epochs(config_, data, hooks, on_epoch);
}

}  // namespace losscc::models
