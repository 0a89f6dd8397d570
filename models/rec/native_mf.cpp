#include "models/rec/native_mf.h"

#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "compiler/passes/build_program.h"
#include "runtime/kernel.h"

namespace losscc::models {

namespace {

// One parameter table (rows × width floats) with its optimiser state and the
// gradient rows of the step in progress.
struct Table {
  int64_t rows = 0, width = 0;
  std::vector<float> w;           // the parameters, row-major
  std::vector<float> m, v;        // adam: first and second moments; adagrad: v = Σ g²
  std::vector<int64_t> applied;   // gd: the step up to which each row's decay is applied
  std::vector<int32_t> slot;      // row → its gradient row this step, −1 when untouched
  std::vector<int64_t> touched;   // rows touched this step (first-touch order until the update sorts them)
  std::vector<float> grad;        // touched.size() × width

  Table(int64_t rows_, int64_t width_, const at::Tensor& init) : rows(rows_), width(width_) {
    const at::Tensor t = init.detach().to(at::kFloat).contiguous();
    if (t.numel() != rows * width)
      throw std::invalid_argument(fmt::format("NativeMfTrainer: a {}×{} table got {} values", rows,
                                              width, t.numel()));
    w.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    slot.assign(rows, -1);
    applied.assign(rows, 0);
  }
  float* row(int64_t r) { return w.data() + r * width; }
  // The gradient row of `r` for this step (zeroed on first touch).
  float* grad_row(int64_t r) {
    if (slot[r] < 0) {
      slot[r] = static_cast<int32_t>(touched.size());
      touched.push_back(r);
      grad.resize(touched.size() * width, 0.0f);
    }
    return grad.data() + static_cast<int64_t>(slot[r]) * width;
  }
  void end_step() {
    for (int64_t r : touched) slot[r] = -1;
    touched.clear();
    grad.clear();
  }
};

}  // namespace

struct NativeMfTrainer::Tables {
  Table user_vectors, item_vectors, user_bias, item_bias, global_bias;
  int64_t steps = 0;  // optimiser steps taken
  // A step's per-row values, kept so that a step allocates nothing.
  std::vector<float> score, prob, clipped, label, dscore;
  std::vector<std::vector<float>> loss_grads;  // one per input the model feeds

  std::vector<Table*> all() { return {&user_vectors, &item_vectors, &user_bias, &item_bias, &global_bias}; }
};

namespace {

// The optimiser rules of LibTorch 1.13/2.x, element by element, on the
// gradient g = clamp(g_loss + a·w, ±clip) + decay·w (a = 2·l2 when the l2 term
// is in the loss, decay = l2 when it is also weight decay).
struct UpdateRule {
  float a, decay, clip, lr;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // Adam's defaults
  float step_size = 0, root_bc2 = 1;                // adam, per step
  float adagrad_eps = 1e-10f;

  float gradient(float g_loss, float w) const {
    float g = g_loss + a * w;
    if (clip > 0) g = std::min(std::max(g, -clip), clip);
    return g + decay * w;
  }
  // One row; g_loss null means a row the batch did not touch.
  void gd(float* w, const float* g_loss, int64_t width) const {
    for (int64_t j = 0; j < width; ++j) w[j] -= lr * gradient(g_loss[j], w[j]);
  }
  // n consecutive values; a null g_loss (rows the batch did not touch) is
  // its own loop, so that each loop vectorises.
  void adam(float* w, float* m, float* v, const float* g_loss, int64_t n) const {
    const auto update = [&](int64_t j, float g) {
      m[j] = beta1 * m[j] + (1 - beta1) * g;
      v[j] = beta2 * v[j] + (1 - beta2) * g * g;
      w[j] -= step_size * m[j] / (std::sqrt(v[j]) / root_bc2 + eps);
    };
    if (g_loss)
      for (int64_t j = 0; j < n; ++j) update(j, gradient(g_loss[j], w[j]));
    else
      for (int64_t j = 0; j < n; ++j) update(j, gradient(0.0f, w[j]));
  }
  void adagrad(float* w, float* v, const float* g_loss, int64_t n) const {
    const auto update = [&](int64_t j, float g) {
      v[j] += g * g;
      w[j] -= lr * g / (std::sqrt(v[j]) + adagrad_eps);
    };
    if (g_loss)
      for (int64_t j = 0; j < n; ++j) update(j, gradient(g_loss[j], w[j]));
    else
      for (int64_t j = 0; j < n; ++j) update(j, gradient(0.0f, w[j]));
  }
};

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
    : config_(std::move(config)), rng_(config_.seed) {
  if (std::find(optimizer_names().begin(), optimizer_names().end(), config_.optimizer) ==
      optimizer_names().end())
    throw std::invalid_argument(fmt::format("Trainer: unknown optimizer '{}' (known: {})",
                                            config_.optimizer, fmt::join(optimizer_names(), ", ")));
  sources_ = bind_loss_inputs(loss, config_);
  for (size_t k = 0; k < sources_.size(); ++k)
    if (sources_[k] != LossSource::Label) grad_inputs_.push_back(static_cast<int>(k));
  rt::CompileOptions options;
  if (!rt::backend_available(rt::Backend::Llvm)) options.backend = rt::Backend::Interp;
  kernel_ = rt::get_kernel(build_program(loss, grad_inputs_), options);

  const at::Tensor users = parameter(model, "user_vectors.weight");
  const at::Tensor items = parameter(model, "item_vectors.weight");
  const int64_t dim = users.size(1);
  tables_.reset(new Tables{Table(users.size(0), dim, users),
                           Table(items.size(0), dim, items),
                           Table(users.size(0), 1, parameter(model, "user_bias.weight")),
                           Table(items.size(0), 1, parameter(model, "item_bias.weight")),
                           Table(1, 1, parameter(model, "global_bias"))});
  for (Table* t : tables_->all()) {
    if (config_.optimizer == "adam") t->m.assign(t->w.size(), 0.0f);
    if (config_.optimizer != "gd") t->v.assign(t->w.size(), 0.0f);
  }
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
void NativeMfTrainer::bring_up_to_date() {
  if (config_.optimizer != "gd") return;
  const double a = config_.l2_in_loss ? 2 * config_.l2 : 0.0;
  const double factor = 1 - config_.lr * (a + (config_.weight_decay ? config_.l2 : 0.0));
  for (Table* t : tables_->all())
    for (int64_t r = 0; r < t->rows; ++r) {
      const int64_t pending = tables_->steps - t->applied[r];
      if (pending == 0) continue;
      const float scale = static_cast<float>(std::pow(factor, static_cast<double>(pending)));
      float* w = t->row(r);
      for (int64_t j = 0; j < t->width; ++j) w[j] *= scale;
      t->applied[r] = tables_->steps;
    }
}

void NativeMfTrainer::start_epoch(int64_t rows) {
  order_ = epoch_order(rows, config_.shuffle, rng_);
  cursor_ = 0;
}

double NativeMfTrainer::step(const int64_t* rows, int64_t n, const Interactions& data) {
  Tables& T = *tables_;
  const bool gd = config_.optimizer == "gd";
  const double a = config_.l2_in_loss ? 2 * config_.l2 : 0.0;
  const double decay = config_.weight_decay ? config_.l2 : 0.0;
  const double lazy_factor = 1 - config_.lr * (a + decay);
  const int64_t* users = data.users.data_ptr<int64_t>();
  const int64_t* items = data.items.data_ptr<int64_t>();
  const float* labels = data.labels.data_ptr<float>();
  const int64_t dim = T.user_vectors.width;

  // Rows this step reads, decayed up to now (gd), and their gradient slots.
  auto touch = [&](Table& t, int64_t r) {
    if (gd && t.applied[r] != T.steps) {
      const float scale = static_cast<float>(std::pow(lazy_factor, static_cast<double>(T.steps - t.applied[r])));
      float* w = t.row(r);
      for (int64_t j = 0; j < t.width; ++j) w[j] *= scale;
      t.applied[r] = T.steps;
    }
    t.grad_row(r);
  };
  touch(T.global_bias, 0);

  std::vector<float>&score = T.score, &prob = T.prob, &clipped = T.clipped, &label = T.label, &dscore = T.dscore;
  for (std::vector<float>* v : {&score, &prob, &clipped, &label}) v->resize(static_cast<size_t>(n));
  const float lo = static_cast<float>(config_.prob_clip), hi = static_cast<float>(1 - config_.prob_clip);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t u = users[rows[k]], i = items[rows[k]];
    for (Table* t : {&T.user_vectors, &T.user_bias}) touch(*t, u);
    for (Table* t : {&T.item_vectors, &T.item_bias}) touch(*t, i);
    const float* p = T.user_vectors.row(u);
    const float* q = T.item_vectors.row(i);
    float dot = 0;
    for (int64_t j = 0; j < dim; ++j) dot += p[j] * q[j];
    score[k] = dot + T.user_bias.w[u] + T.item_bias.w[i] + T.global_bias.w[0];
    prob[k] = 1.0f / (1.0f + std::exp(-score[k]));
    clipped[k] = config_.prob_clip > 0 ? std::min(std::max(prob[k], lo), hi) : prob[k];
    label[k] = labels[rows[k]];
  }

  // The fused loss kernel: the reduced loss and ∂loss/∂input for the inputs
  // the model feeds.
  rt::HostArgs args;
  args.n = n;
  args.threads = 1;
  for (LossSource s : sources_)
    args.inputs.push_back(s == LossSource::Prob ? clipped.data() : s == LossSource::Score ? score.data() : label.data());
  std::vector<std::vector<float>>& grads = T.loss_grads;
  grads.resize(grad_inputs_.size());
  for (auto& g : grads) {
    g.resize(static_cast<size_t>(n));
    args.grads.push_back(g.data());
  }
  const double value = kernel_->run(args);

  // ∂loss/∂score, through the clamp (which passes the gradient inside
  // [lo, hi], ends included) and the sigmoid.
  dscore.assign(static_cast<size_t>(n), 0.0f);
  bool finite = std::isfinite(value);
  for (size_t g = 0; g < grad_inputs_.size(); ++g) {
    const bool from_prob = sources_[grad_inputs_[g]] == LossSource::Prob;
    for (int64_t k = 0; k < n; ++k) {
      float d = grads[g][k];
      if (from_prob) {
        const bool inside = config_.prob_clip <= 0 || (prob[k] >= lo && prob[k] <= hi);
        d = inside ? d * (1 - prob[k]) * prob[k] : 0.0f;
      }
      dscore[k] += d;
    }
  }
  for (int64_t k = 0; k < n; ++k) finite = finite && std::isfinite(dscore[k]);
  if (!finite)
    throw NonFiniteLoss(fmt::format("non-finite training loss ({}) or gradient", value));

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
  UpdateRule rule{static_cast<float>(a), static_cast<float>(decay), static_cast<float>(config_.grad_clip),
                  static_cast<float>(config_.lr)};
  if (config_.optimizer == "adam") {
    const double t = static_cast<double>(T.steps);
    rule.step_size = static_cast<float>(config_.lr / (1 - std::pow(0.9, t)));
    rule.root_bc2 = static_cast<float>(std::sqrt(1 - std::pow(0.999, t)));
  }
  for (Table* t : T.all()) {
    if (gd) {
      for (int64_t r : t->touched) {
        rule.gd(t->row(r), t->grad.data() + static_cast<int64_t>(t->slot[r]) * t->width, t->width);
        t->applied[r] = T.steps;
      }
    } else {
      // Every row steps: untouched rows still get the l2 gradient and move
      // their moments, as LibTorch's dense update does. Rows go in order: the
      // runs of untouched rows between two touched ones are one flat loop each.
      const bool adam = config_.optimizer == "adam";
      const auto update = [&](int64_t first_row, int64_t rows, const float* g) {
        const int64_t at = first_row * t->width, n = rows * t->width;
        if (adam)
          rule.adam(t->w.data() + at, t->m.data() + at, t->v.data() + at, g, n);
        else
          rule.adagrad(t->w.data() + at, t->v.data() + at, g, n);
      };
      std::sort(t->touched.begin(), t->touched.end());
      int64_t next = 0;
      for (int64_t r : t->touched) {
        if (r > next) update(next, r - next, nullptr);
        update(r, 1, t->grad.data() + static_cast<int64_t>(t->slot[r]) * t->width);
        next = r + 1;
      }
      if (t->rows > next) update(next, t->rows - next, nullptr);
    }
    t->end_step();
  }
  return value;
}

double NativeMfTrainer::train_steps(const Interactions& train, int64_t steps) {
  if (train.size() == 0) throw std::invalid_argument("Trainer: no training rows");
  if (static_cast<int64_t>(order_.size()) != train.size()) start_epoch(train.size());
  double total = 0;
  for (int64_t s = 0; s < steps; ++s) {
    if (cursor_ >= static_cast<int64_t>(order_.size())) start_epoch(train.size());
    const int64_t end = std::min<int64_t>(cursor_ + config_.batch, order_.size());
    total += step(order_.data() + cursor_, end - cursor_, train);
    cursor_ = end;
  }
  return steps > 0 ? total / static_cast<double>(steps) : 0.0;
}

double NativeMfTrainer::train_epoch(const Interactions& train) {
  if (train.size() == 0) throw std::invalid_argument("Trainer: no training rows");
  if (static_cast<int64_t>(order_.size()) != train.size() || cursor_ >= static_cast<int64_t>(order_.size()))
    start_epoch(train.size());
  const int64_t remaining = static_cast<int64_t>(order_.size()) - cursor_;
  return train_steps(train, (remaining + config_.batch - 1) / config_.batch);
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
