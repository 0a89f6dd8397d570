#include "models/ltr/ltr_trainer.h"

#include <torch/autograd.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/serialize.h>

#include <chrono>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

namespace losscc::models::ltr {

nlohmann::json LtrTrainConfig::to_json() const {
  return {{"optimizer", optimizer}, {"lr", lr},           {"weight_decay", weight_decay}, {"batch", batch},
          {"epochs", epochs},       {"patience", patience}, {"seed", seed}, {"shuffle_documents", shuffle_documents},
          {"ideal_zero", ideal_zero == IdealZero::Skip ? "skip" : "one"}};
}

nlohmann::json SplitMetrics::to_json() const { return {{"standard", standard.to_json()}, {"letor", letor.to_json()}}; }

namespace {

at::Tensor features_of(const LtrSplit& s) {
  return at::from_blob(const_cast<float*>(s.features.data()), {s.documents(), s.dims}, at::kFloat);
}
at::Tensor labels_of(const LtrSplit& s) {
  return at::from_blob(const_cast<float*>(s.labels.data()), {s.documents()}, at::kFloat);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

std::vector<double> score_split(Scorer& model, const LtrSplit& split) {
  torch::NoGradGuard no_grad;
  model.eval();
  const at::Tensor s = model.forward(features_of(split)).to(at::kDouble).contiguous();
  return std::vector<double>(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
}

namespace {

SplitMetrics evaluate_scores(const std::vector<double>& scores, const LtrSplit& split, IdealZero ideal_zero) {
  SplitMetrics m;
  RankingOptions o;
  o.ideal_zero = ideal_zero;
  m.standard = evaluate_ranking(scores, split.labels, split.offsets, o);
  o.convention = Convention::Letor;
  m.letor = evaluate_ranking(scores, split.labels, split.offsets, o);
  return m;
}

}  // namespace

SplitMetrics evaluate_split(Scorer& model, const LtrSplit& split, IdealZero ideal_zero) {
  return evaluate_scores(score_split(model, split), split, ideal_zero);
}

LtrTrainer::LtrTrainer(std::shared_ptr<Scorer> model, const LossFunction& loss, LtrTrainConfig config)
    : model_(std::move(model)), config_(std::move(config)), loss_(loss), grouped_(loss.grouped()), rng_(config_.seed) {
  if (config_.batch < 1) throw std::invalid_argument("batch must be >= 1 query");
  if (config_.epochs < 1) throw std::invalid_argument("epochs must be >= 1");
  if (config_.patience < 1) throw std::invalid_argument("patience must be >= 1");
  if (!(config_.lr > 0)) throw std::invalid_argument("lr must be > 0");
  pred_index_ = label_index_ = -1;
  for (size_t k = 0; k < loss.inputs.size(); ++k) {
    const InputDecl& in = loss.inputs[k];
    int* slot = in.role == Role::Prediction ? &pred_index_ : in.role == Role::Label ? &label_index_ : nullptr;
    if (!slot)
      throw std::invalid_argument(fmt::format(
          "loss input '{}' has role '{}'; a ranking loss takes one prediction (the score) and one label",
          in.name, role_name(in.role)));
    if (*slot >= 0) throw std::invalid_argument(fmt::format("the loss has more than one {} input", role_name(in.role)));
    *slot = static_cast<int>(k);
  }
  if (pred_index_ < 0) throw std::invalid_argument("the loss has no prediction input");
  prob_input_ = loss.inputs[pred_index_].domain == Domain::Probability;
  binary_label_ = label_index_ >= 0 && loss.inputs[label_index_].domain == Domain::Binary;
  if (config_.optimizer == "adam") {
    optimizer_ = std::make_unique<torch::optim::Adam>(
        model_->parameters(), torch::optim::AdamOptions(config_.lr).weight_decay(config_.weight_decay));
  } else if (config_.optimizer == "sgd") {
    optimizer_ = std::make_unique<torch::optim::SGD>(
        model_->parameters(), torch::optim::SGDOptions(config_.lr).weight_decay(config_.weight_decay));
  } else {
    throw std::invalid_argument(fmt::format("unknown optimizer '{}' (adam, sgd)", config_.optimizer));
  }
}

LtrTrainer::~LtrTrainer() = default;

double LtrTrainer::train_epoch(const LtrSplit& train) {
  model_->train();
  const int64_t queries = train.queries();
  std::vector<int64_t> order(queries);
  for (int64_t q = 0; q < queries; ++q) order[q] = q;
  for (int64_t i = queries - 1; i > 0; --i)  // our own Fisher-Yates: the same order everywhere
    std::swap(order[i], order[std::uniform_int_distribution<int64_t>(0, i)(rng_)]);
  const at::Tensor x = features_of(train), y = labels_of(train);
  double total = 0;
  int64_t steps = 0;
  for (int64_t start = 0; start < queries; start += config_.batch) {
    std::vector<int64_t> rows, offsets{0};
    for (int64_t j = start; j < std::min(queries, start + config_.batch); ++j) {
      const int64_t q = order[j];
      const size_t first = rows.size();
      for (int64_t i = train.offsets[q]; i < train.offsets[q + 1]; ++i) rows.push_back(i);
      if (config_.shuffle_documents)
        for (size_t i = rows.size() - 1; i > first; --i)
          std::swap(rows[i], rows[first + std::uniform_int_distribution<size_t>(0, i - first)(rng_)]);
      offsets.push_back(static_cast<int64_t>(rows.size()));
    }
    const at::Tensor index = at::tensor(rows, at::kLong);
    const at::Tensor score = model_->forward(x.index_select(0, index));
    at::Tensor label = y.index_select(0, index);
    std::vector<at::Tensor> inputs(loss_.function().inputs.size());
    inputs[pred_index_] = prob_input_ ? at::sigmoid(score).clamp(1e-7, 1 - 1e-7) : score;
    if (label_index_ >= 0) inputs[label_index_] = binary_label_ ? (label > 0).to(at::kFloat) : label;
    const at::Tensor l = grouped_ ? loss_(inputs, at::tensor(offsets, at::kLong)) : loss_(inputs);
    const double value = l.item<double>();
    if (!std::isfinite(value)) throw NonFiniteLoss(fmt::format("batch loss {} at step {}", value, steps + 1));
    optimizer_->zero_grad();
    l.backward();
    for (const auto& p : model_->parameters())
      if (p.grad().defined() && !at::isfinite(p.grad()).all().item<bool>())
        throw NonFiniteLoss(fmt::format("non-finite gradient at step {}", steps + 1));
    optimizer_->step();
    total += value;
    ++steps;
  }
  return steps ? total / static_cast<double>(steps) : NAN;
}

LtrTrainer::FitResult LtrTrainer::fit(const LtrDataset& data, const std::function<void(const EpochLog&)>& on_epoch) {
  const auto start = std::chrono::steady_clock::now();
  FitResult result;
  double best = -INFINITY;
  std::stringstream best_state;
  for (int epoch = 1; epoch <= config_.epochs; ++epoch) {
    const auto t = std::chrono::steady_clock::now();
    const double loss = train_epoch(data.train);
    const std::vector<double> scores = score_split(*model_, data.valid);
    RankingOptions o;
    o.cutoffs = {10};
    const double ndcg = evaluate_ranking(scores, data.valid.labels, data.valid.offsets, o).ndcg.at(10);
    const EpochLog log{epoch, loss, ndcg, seconds_since(t)};
    result.history.push_back(log);
    result.epochs = epoch;
    if (on_epoch) on_epoch(log);
    if (ndcg > best) {  // a NaN never counts as best
      best = ndcg;
      result.best_epoch = epoch;
      best_state.str("");
      torch::save(model_, best_state);
    } else if (epoch - result.best_epoch >= config_.patience) {
      break;
    }
  }
  if (result.best_epoch > 0) torch::load(model_, best_state);
  result.train = evaluate_split(*model_, data.train, config_.ideal_zero);
  result.valid = evaluate_split(*model_, data.valid, config_.ideal_zero);
  const std::vector<double> test_scores = score_split(*model_, data.test);
  result.test = evaluate_scores(test_scores, data.test, config_.ideal_zero);
  for (int64_t q = 0; q < data.test.queries(); ++q) {
    const int64_t b = data.test.offsets[q], e = data.test.offsets[q + 1];
    const double ndcg = query_ndcg(std::vector<double>(test_scores.begin() + b, test_scores.begin() + e),
                                   std::vector<float>(data.test.labels.begin() + b, data.test.labels.begin() + e),
                                   10, Convention::Standard);
    if (!std::isnan(ndcg)) result.test_ndcg10_per_query[data.test.qids[q]] = ndcg;
  }
  result.seconds = seconds_since(start);
  return result;
}

nlohmann::json LtrTrainer::FitResult::to_json() const {
  nlohmann::json h = nlohmann::json::array();
  for (const EpochLog& e : history)
    h.push_back({{"epoch", e.epoch}, {"train_loss", e.train_loss}, {"valid_ndcg@10", e.valid_ndcg10}, {"seconds", e.seconds}});
  return {{"train", train.to_json()}, {"valid", valid.to_json()}, {"test", test.to_json()},
          {"best_epoch", best_epoch}, {"epochs", epochs},          {"seconds", seconds},
          {"history", h},          {"test_ndcg@10_per_query", test_ndcg10_per_query}};
}

}  // namespace losscc::models::ltr
