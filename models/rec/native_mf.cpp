#include "models/rec/native_mf.h"

#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "models/rec/native_loss.h"
#include "models/rec/native_tables.h"

namespace losscc::models {

using native::Table;

struct NativeMfTrainer::Tables {
  Table user_vectors, item_vectors, user_bias, item_bias, global_bias;
  int64_t steps = 0;  // optimiser steps taken
  // A step's per-row values, kept so that a step allocates nothing.
  std::vector<float> score, label, dscore;

  std::vector<Table*> all() { return {&user_vectors, &item_vectors, &user_bias, &item_bias, &global_bias}; }
};

namespace {

// By value: named_parameters() builds a new dictionary on every call, so a
// reference into it dangles once this returns (a use-after-free that crashed
// searches when another worker thread reused the memory).
at::Tensor parameter(const RecModel& model, const char* name) {
  const auto params = model.named_parameters();
  const at::Tensor* found = params.find(name);
  if (!found)
    throw std::invalid_argument(
        fmt::format("NativeMfTrainer: the model has no parameter '{}' (not a BiasedMF)", name));
  return *found;
}

}  // namespace

NativeMfTrainer::NativeMfTrainer(int64_t num_users, int64_t num_items, uint64_t model_seed,
                                 const LossFunction& loss, TrainConfig config)
    : NativeMfTrainer(*make_model("biasedmf", num_users, num_items, model_seed), loss, std::move(config)) {}

NativeMfTrainer::NativeMfTrainer(const RecModel& model, const LossFunction& loss, TrainConfig config)
    : config_(std::move(config)),
      loss_(std::make_unique<native::LossStep>(loss, config_)),
      batches_(std::make_unique<native::Batches>(config_.seed)) {

  const at::Tensor users = parameter(model, "user_vectors.weight");
  const at::Tensor items = parameter(model, "item_vectors.weight");
  const int64_t dim = users.size(1);
  tables_.reset(new Tables{Table(users.size(0), dim, users),
                           Table(items.size(0), dim, items),
                           Table(users.size(0), 1, parameter(model, "user_bias.weight")),
                           Table(items.size(0), 1, parameter(model, "item_bias.weight")),
                           Table(1, 1, parameter(model, "global_bias"))});
  for (Table* t : tables_->all()) native::prepare_state(*t, config_.optimizer);
}

NativeMfTrainer::~NativeMfTrainer() = default;

void NativeMfTrainer::write_to(RecModel& model) {
  bring_up_to_date();
  torch::NoGradGuard no_grad;
  const auto params = model.named_parameters();
  const std::pair<const char*, Table*> names[] = {
      {"user_vectors.weight", &tables_->user_vectors}, {"item_vectors.weight", &tables_->item_vectors},
      {"user_bias.weight", &tables_->user_bias},       {"item_bias.weight", &tables_->item_bias},
      {"global_bias", &tables_->global_bias}};
  for (const auto& [name, table] : names) {
    at::Tensor p = parameter(model, name);
    if (p.numel() != static_cast<int64_t>(table->w.size()))
      throw std::invalid_argument(fmt::format("NativeMfTrainer::write_to: '{}' has another shape", name));
    p.copy_(at::from_blob(table->w.data(), p.sizes(), at::kFloat));
  }
}

// gd's lazy decay: an untouched row only shrinks by this factor per step.
void NativeMfTrainer::bring_up_to_date() { native::bring_up_to_date(tables_->all(), config_, tables_->steps); }

double NativeMfTrainer::step(const int64_t* rows, int64_t n, const Interactions& data) {
  Tables& T = *tables_;
  const bool gd = config_.optimizer == "gd";
  const double lazy_factor = native::lazy_decay_factor(config_);
  const int64_t* users = data.users.data_ptr<int64_t>();
  const int64_t* items = data.items.data_ptr<int64_t>();
  const float* labels = data.labels.data_ptr<float>();
  const int64_t dim = T.user_vectors.width;

  // Rows this step reads, decayed up to now (gd), and their gradient slots.
  auto touch = [&](Table& t, int64_t r) {
    if (gd) native::lazy_decay(t, r, lazy_factor, T.steps);
    t.grad_row(r);
  };
  touch(T.global_bias, 0);

  std::vector<float>&score = T.score, &label = T.label, &dscore = T.dscore;
  for (std::vector<float>* v : {&score, &label}) v->resize(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) {
    const int64_t u = users[rows[k]], i = items[rows[k]];
    for (Table* t : {&T.user_vectors, &T.user_bias}) touch(*t, u);
    for (Table* t : {&T.item_vectors, &T.item_bias}) touch(*t, i);
    const float* p = T.user_vectors.row(u);
    const float* q = T.item_vectors.row(i);
    float dot = 0;
    for (int64_t j = 0; j < dim; ++j) dot += p[j] * q[j];
    score[k] = dot + T.user_bias.w[u] + T.item_bias.w[i] + T.global_bias.w[0];
    label[k] = labels[rows[k]];
  }
  // The loss and ∂loss/∂score, then back to the rows.
  const double value = loss_->run(score.data(), label.data(), n, dscore);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t u = users[rows[k]], i = items[rows[k]];
    const float d = dscore[k];
    float* gp = T.user_vectors.grad_row(u);
    float* gq = T.item_vectors.grad_row(i);
    const float* p = T.user_vectors.row(u);
    const float* q = T.item_vectors.row(i);
    for (int64_t j = 0; j < dim; ++j) {
      gp[j] += d * q[j];
      gq[j] += d * p[j];
    }
    T.user_bias.grad_row(u)[0] += d;
    T.item_bias.grad_row(i)[0] += d;
    T.global_bias.grad_row(0)[0] += d;
  }

  ++T.steps;
  const native::UpdateRule rule = native::update_rule(config_, T.steps);
  for (Table* t : T.all()) native::step_table(*t, rule, config_.optimizer, T.steps);
  return value;
}

double NativeMfTrainer::train_steps(const Interactions& train, int64_t steps) {
  return batches_->train_steps(train.size(), steps, config_,
                               [&](const int64_t* rows, int64_t n) { return step(rows, n, train); });
}

double NativeMfTrainer::train_epoch(const Interactions& train) {
  return batches_->train_epoch(train.size(), config_,
                               [&](const int64_t* rows, int64_t n) { return step(rows, n, train); });
}

std::vector<float> NativeMfTrainer::predict(const Interactions& rows) {
  bring_up_to_date();
  const Tables& T = *tables_;
  const int64_t* users = rows.users.data_ptr<int64_t>();
  const int64_t* items = rows.items.data_ptr<int64_t>();
  const int64_t dim = T.user_vectors.width;
  std::vector<float> prob(rows.size());
  for (int64_t k = 0; k < rows.size(); ++k) {
    const float* p = T.user_vectors.w.data() + users[k] * dim;
    const float* q = T.item_vectors.w.data() + items[k] * dim;
    float dot = 0;
    for (int64_t j = 0; j < dim; ++j) dot += p[j] * q[j];
    const float score = dot + T.user_bias.w[users[k]] + T.item_bias.w[items[k]] + T.global_bias.w[0];
    prob[k] = 1.0f / (1.0f + std::exp(-score));
  }
  return prob;
}

Metrics NativeMfTrainer::evaluate(const Interactions& rows) {
  std::vector<float> prob = predict(rows);
  return compute_metrics(at::from_blob(prob.data(), {static_cast<int64_t>(prob.size())}, at::kFloat),
                         rows.labels);
}

FitResult NativeMfTrainer::fit(const Dataset& data, const std::function<void(const EpochLog&)>& on_epoch) {
  std::vector<std::vector<float>> best;
  FitHooks hooks;
  hooks.train_epoch = [&] { return train_epoch(data.train); };
  hooks.evaluate = [&](const Interactions& rows) { return evaluate(rows); };
  hooks.save_best = [&] {
    best.clear();
    for (Table* t : tables_->all()) best.push_back(t->w);  // evaluate() brought every row up to date
  };
  hooks.restore_best = [&] {
    std::vector<Table*> tables = tables_->all();
    for (size_t k = 0; k < tables.size(); ++k) {
      tables[k]->w = best[k];
      std::fill(tables[k]->applied.begin(), tables[k]->applied.end(), tables_->steps);
    }
  };
  return fit_epochs(config_, data, hooks, on_epoch);
}

}  // namespace losscc::models
