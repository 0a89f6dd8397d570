// What the native trainers (native_mf.h, native_deep.h) share: parameter
// tables with their optimiser state and the rows a step touched, LibTorch's
// update rules element by element, one optimiser step over a table, and the
// minibatch order.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "models/rec/trainer.h"

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace losscc::models::native {

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
      throw std::invalid_argument(fmt::format("native trainer: a {}×{} table got {} values", rows,
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
    const UpdateRule r = *this;
    for (int64_t j = 0; j < width; ++j) w[j] -= r.lr * r.gradient(g_loss[j], w[j]);
  }
  // n consecutive values; a null g_loss (rows the batch did not touch) is
  // its own loop, so that each loop vectorises.
  // The loops work on a copy of the rule: stores through w, m and v could
  // otherwise alias its fields, which keeps them from vectorising.
  void adam(float* w, float* m, float* v, const float* g_loss, int64_t n) const {
    const UpdateRule r = *this;
    const auto update = [&](int64_t j, float g) {
      m[j] = r.beta1 * m[j] + (1 - r.beta1) * g;
      v[j] = r.beta2 * v[j] + (1 - r.beta2) * g * g;
      w[j] -= r.step_size * m[j] / (std::sqrt(v[j]) / r.root_bc2 + r.eps);
    };
    if (g_loss)
      for (int64_t j = 0; j < n; ++j) update(j, r.gradient(g_loss[j], w[j]));
    else
      for (int64_t j = 0; j < n; ++j) update(j, r.gradient(0.0f, w[j]));
  }
  void adagrad(float* w, float* v, const float* g_loss, int64_t n) const {
    const UpdateRule r = *this;
    const auto update = [&](int64_t j, float g) {
      v[j] += g * g;
      w[j] -= r.lr * g / (std::sqrt(v[j]) + r.adagrad_eps);
    };
    if (g_loss)
      for (int64_t j = 0; j < n; ++j) update(j, r.gradient(g_loss[j], w[j]));
    else
      for (int64_t j = 0; j < n; ++j) update(j, r.gradient(0.0f, w[j]));
  }
};

// Flushes denormal results and operands to zero while it lives (as
// torch.set_flush_denormal(True) does), restoring the thread's mode after.
// Adam's and Adagrad's dense update walks every row: an untouched row's
// weight, moments and gradient decay geometrically into the denormal range,
// where each operation costs about a hundred cycles, and a BiasedMF Adam epoch
// grew from 0.15 s to 0.35 s over six epochs. Flushing changes values below
// 1e-38 only, which Adam's eps (1e-8) already swamps.
class FlushDenormals {
 public:
#if defined(__SSE__) || defined(__x86_64__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040); }  // FTZ | DAZ
  ~FlushDenormals() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#endif
};

// One optimiser step of `t` (the step counter already advanced to `steps`):
//   gd             the touched rows step; an untouched row only decays, which
//                  is applied lazily (see lazy_decay) when it is next read;
//   adam, adagrad  every row steps, as LibTorch's dense update does: the
//                  untouched ones with the l2 gradient alone, as flat runs.
// Ends the step (the touched rows are forgotten).
inline void step_table(Table& t, const UpdateRule& rule, const std::string& optimizer, int64_t steps) {
  if (optimizer == "gd") {
    for (int64_t r : t.touched) {
      rule.gd(t.row(r), t.grad.data() + static_cast<int64_t>(t.slot[r]) * t.width, t.width);
      t.applied[r] = steps;
    }
  } else {
    const FlushDenormals flush;
    const bool adam = optimizer == "adam";
    const auto update = [&](int64_t first_row, int64_t rows, const float* g) {
      const int64_t at = first_row * t.width, n = rows * t.width;
      if (adam)
        rule.adam(t.w.data() + at, t.m.data() + at, t.v.data() + at, g, n);
      else
        rule.adagrad(t.w.data() + at, t.v.data() + at, g, n);
    };
    std::sort(t.touched.begin(), t.touched.end());
    int64_t next = 0;
    for (int64_t r : t.touched) {
      if (r > next) update(next, r - next, nullptr);
      update(r, 1, t.grad.data() + static_cast<int64_t>(t.slot[r]) * t.width);
      next = r + 1;
    }
    if (t.rows > next) update(next, t.rows - next, nullptr);
  }
  t.end_step();
}

// gd: brings row r's pending decay (factor per step) up to `steps`.
inline void lazy_decay(Table& t, int64_t r, double factor, int64_t steps) {
  if (t.applied[r] == steps) return;
  const float scale = static_cast<float>(std::pow(factor, static_cast<double>(steps - t.applied[r])));
  float* w = t.row(r);
  for (int64_t j = 0; j < t.width; ++j) w[j] *= scale;
  t.applied[r] = steps;
}

// The optimiser state a table needs.
inline void prepare_state(Table& t, const std::string& optimizer) {
  if (optimizer == "adam") t.m.assign(t.w.size(), 0.0f);
  if (optimizer != "gd") t.v.assign(t.w.size(), 0.0f);
}

// The rule of a step: l2 in the loss and as weight decay as `config` says;
// for Adam, the bias corrections of step `steps`.
template <class Config>
UpdateRule update_rule(const Config& config, int64_t steps) {
  const double a = config.l2_in_loss ? 2 * config.l2 : 0.0;
  const double decay = config.weight_decay ? config.l2 : 0.0;
  UpdateRule rule{static_cast<float>(a), static_cast<float>(decay), static_cast<float>(config.grad_clip),
                  static_cast<float>(config.lr)};
  if (config.optimizer == "adam") {
    const double t = static_cast<double>(steps);
    rule.step_size = static_cast<float>(config.lr / (1 - std::pow(0.9, t)));
    rule.root_bc2 = static_cast<float>(std::sqrt(1 - std::pow(0.999, t)));
  }
  return rule;
}

// gd's factor of an untouched row per step.
template <class Config>
double lazy_decay_factor(const Config& config) {
  const double a = config.l2_in_loss ? 2 * config.l2 : 0.0;
  return 1 - config.lr * (a + (config.weight_decay ? config.l2 : 0.0));
}

// gd: brings every row of `tables` up to `steps` before they are read whole
// (evaluated, saved, copied out); the other optimisers leave nothing pending.
template <class Config>
void bring_up_to_date(const std::vector<Table*>& tables, const Config& config, int64_t steps) {
  if (config.optimizer != "gd") return;
  const double factor = lazy_decay_factor(config);
  for (Table* t : tables)
    for (int64_t r = 0; r < t->rows; ++r) lazy_decay(*t, r, factor, steps);
}

// The minibatches as Trainer draws them (trainer.h): each epoch a new order
// of the training rows from the trainer's own generator, `batch` rows a step.
class Batches {
 public:
  explicit Batches(uint64_t seed) : rng_(seed) {}

  // `steps` calls of step(rows, n) (the rows' indices and their count), an
  // epoch's order starting wherever the last one ran out; the mean of what
  // step returned.
  template <class Step>
  double train_steps(int64_t train_rows, int64_t steps, const TrainConfig& config, Step&& step) {
    if (train_rows == 0) throw std::invalid_argument("Trainer: no training rows");
    if (static_cast<int64_t>(order_.size()) != train_rows) start_epoch(train_rows, config.shuffle);
    double total = 0;
    for (int64_t s = 0; s < steps; ++s) {
      if (cursor_ >= static_cast<int64_t>(order_.size())) start_epoch(train_rows, config.shuffle);
      const int64_t end = std::min<int64_t>(cursor_ + config.batch, static_cast<int64_t>(order_.size()));
      total += step(order_.data() + cursor_, end - cursor_);
      cursor_ = end;
    }
    return steps > 0 ? total / static_cast<double>(steps) : 0.0;
  }
  // The rest of the epoch in progress, or a whole new one.
  template <class Step>
  double train_epoch(int64_t train_rows, const TrainConfig& config, Step&& step) {
    if (train_rows == 0) throw std::invalid_argument("Trainer: no training rows");
    if (static_cast<int64_t>(order_.size()) != train_rows || cursor_ >= static_cast<int64_t>(order_.size()))
      start_epoch(train_rows, config.shuffle);
    const int64_t remaining = static_cast<int64_t>(order_.size()) - cursor_;
    return train_steps(train_rows, (remaining + config.batch - 1) / config.batch, config, step);
  }

 private:
  void start_epoch(int64_t rows, bool shuffle) {
    order_ = epoch_order(rows, shuffle, rng_);
    cursor_ = 0;
  }

  std::mt19937_64 rng_;
  std::vector<int64_t> order_;
  int64_t cursor_ = 0;
};

}  // namespace losscc::models::native
