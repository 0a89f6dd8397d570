#include "models/rec/native_deep.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "models/rec/deep_model.h"
#include "models/rec/native_loss.h"
#include "models/rec/native_tables.h"

namespace losscc::models {

using native::Table;

namespace {

constexpr float kBatchNormEps = 1e-5f, kMomentum = 0.1f;  // torch::nn::BatchNorm1d's defaults

// A linear layer's weight is kept transposed, [in][out], so that the forward
// pass and the weight gradient run their innermost loop along `out`
// contiguously (a loop the compiler vectorises); the backward pass to the
// input reads a [out][in] copy made each step. (Hand loops, not ATen's
// matrix multiply: with the reference BLAS Debian's LibTorch links, at::mm
// made a step twice as slow at these sizes.)
struct Linear {
  int64_t in, out;
  Table weight_t, bias;       // weight_t: 1 × (in·out), [in][out]; bias: 1 × out
  std::vector<float> weight;  // [out][in], refreshed before the backward pass
};

// BatchNorm1d over `width` features: the affine parameters, the running
// statistics, and a training step's batch statistics.
struct Norm {
  Table gamma, beta;
  std::vector<float> running_mean, running_var;
  std::vector<float> mean, inv_std;  // this step's
};

at::Tensor named(const torch::OrderedDict<std::string, at::Tensor>& dict, const std::string& name) {
  const at::Tensor* found = dict.find(name);
  if (!found) throw std::invalid_argument(fmt::format("NativeDeepTrainer: the model has no '{}' (not a DeepModel)", name));
  return found->detach().to(at::kFloat).contiguous();
}

std::vector<float> values(const at::Tensor& t) { return {t.data_ptr<float>(), t.data_ptr<float>() + t.numel()}; }

Linear make_linear(const torch::OrderedDict<std::string, at::Tensor>& params, const std::string& name) {
  const at::Tensor w = named(params, name + ".weight");  // [out][in]
  const int64_t out = w.size(0), in = w.size(1);
  return Linear{in, out, Table(1, in * out, w.t().contiguous()), Table(1, out, named(params, name + ".bias")), {}};
}

Norm make_norm(const torch::OrderedDict<std::string, at::Tensor>& params,
               const torch::OrderedDict<std::string, at::Tensor>& buffers, const std::string& name) {
  const at::Tensor g = named(params, name + ".weight");
  return Norm{Table(1, g.numel(), g), Table(1, g.numel(), named(params, name + ".bias")),
              values(named(buffers, name + ".running_mean")), values(named(buffers, name + ".running_var")), {}, {}};
}

// The products below run on 8 floats at a time where the CPU has AVX2 (a
// clone per target, chosen at load time); each element sees the same
// operations in the same order either way (no FMA contraction), so the
// numbers do not depend on the machine.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define LOSSCC_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define LOSSCC_VECTOR_CLONES
#endif

// z[k][o] = b[o] + Σ_c x[k][c] · W[c][o] for n rows.
LOSSCC_VECTOR_CLONES void linear_forward(const Linear& L, const float* x, int64_t n, float* z) {
  const float* wt = L.weight_t.w.data();
  const float* b = L.bias.w.data();
  for (int64_t k = 0; k < n; ++k) {
    float* zk = z + k * L.out;
    std::copy(b, b + L.out, zk);
    const float* xk = x + k * L.in;
    for (int64_t c = 0; c < L.in; ++c) {
      const float xv = xk[c];
      const float* wc = wt + c * L.out;
      for (int64_t o = 0; o < L.out; ++o) zk[o] += xv * wc[o];
    }
  }
}

// The gradients of the weight and bias into their tables' gradient rows, and
// (when dx is not null) dx[k][c] = Σ_o dz[k][o] · W[o][c].
LOSSCC_VECTOR_CLONES void linear_backward(Linear& L, const float* x, const float* dz, int64_t n, float* dx) {
  float* gwt = L.weight_t.grad_row(0);
  float* gb = L.bias.grad_row(0);
  for (int64_t k = 0; k < n; ++k) {
    const float* dzk = dz + k * L.out;
    const float* xk = x + k * L.in;
    for (int64_t o = 0; o < L.out; ++o) gb[o] += dzk[o];
    for (int64_t c = 0; c < L.in; ++c) {
      const float xv = xk[c];
      float* gc = gwt + c * L.out;
      for (int64_t o = 0; o < L.out; ++o) gc[o] += xv * dzk[o];
    }
  }
  if (!dx) return;
  L.weight.resize(static_cast<size_t>(L.in * L.out));
  for (int64_t c = 0; c < L.in; ++c)
    for (int64_t o = 0; o < L.out; ++o) L.weight[o * L.in + c] = L.weight_t.w[c * L.out + o];
  for (int64_t k = 0; k < n; ++k) {
    float* dxk = dx + k * L.in;
    std::fill(dxk, dxk + L.in, 0.0f);
    const float* dzk = dz + k * L.out;
    for (int64_t o = 0; o < L.out; ++o) {
      const float d = dzk[o];
      const float* wo = L.weight.data() + o * L.in;
      for (int64_t c = 0; c < L.in; ++c) dxk[c] += d * wo[c];
    }
  }
}

// Training: z (n × width) → y = γ·x̂ + β with the batch's mean and biased
// variance; the running statistics take the unbiased variance, as LibTorch's.
void norm_forward_train(Norm& N, const float* z, int64_t n, float* xhat, float* y) {
  const int64_t width = N.gamma.width;
  N.mean.assign(width, 0.0f);
  N.inv_std.assign(width, 0.0f);
  std::vector<float> var(width, 0.0f);
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < width; ++j) N.mean[j] += z[k * width + j];
  for (int64_t j = 0; j < width; ++j) N.mean[j] /= static_cast<float>(n);
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < width; ++j) {
      const float d = z[k * width + j] - N.mean[j];
      var[j] += d * d;
    }
  for (int64_t j = 0; j < width; ++j) {
    var[j] /= static_cast<float>(n);
    N.inv_std[j] = 1.0f / std::sqrt(var[j] + kBatchNormEps);
    N.running_mean[j] = (1 - kMomentum) * N.running_mean[j] + kMomentum * N.mean[j];
    N.running_var[j] = (1 - kMomentum) * N.running_var[j] +
                       kMomentum * var[j] * static_cast<float>(n) / static_cast<float>(n - 1);
  }
  const float* g = N.gamma.w.data();
  const float* b = N.beta.w.data();
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < width; ++j) {
      const int64_t at = k * width + j;
      xhat[at] = (z[at] - N.mean[j]) * N.inv_std[j];
      y[at] = g[j] * xhat[at] + b[j];
    }
}

// Evaluation: the running statistics.
void norm_forward_eval(const Norm& N, float* z, int64_t n) {
  const int64_t width = N.gamma.width;
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < width; ++j) {
      float& v = z[k * width + j];
      v = N.gamma.w[j] * (v - N.running_mean[j]) / std::sqrt(N.running_var[j] + kBatchNormEps) + N.beta.w[j];
    }
}

// dy → dz through the training-mode normalisation; γ's and β's gradients
// into their gradient rows.
void norm_backward(Norm& N, const float* xhat, const float* dy, int64_t n, float* dz) {
  const int64_t width = N.gamma.width;
  float* gg = N.gamma.grad_row(0);
  float* gb = N.beta.grad_row(0);
  std::vector<float> sum_dxhat(width, 0.0f), sum_dxhat_xhat(width, 0.0f);
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < width; ++j) {
      const int64_t at = k * width + j;
      gg[j] += dy[at] * xhat[at];
      gb[j] += dy[at];
      const float dxhat = dy[at] * N.gamma.w[j];
      sum_dxhat[j] += dxhat;
      sum_dxhat_xhat[j] += dxhat * xhat[at];
    }
  const float inv_n = 1.0f / static_cast<float>(n);
  for (int64_t k = 0; k < n; ++k)
    for (int64_t j = 0; j < width; ++j) {
      const int64_t at = k * width + j;
      const float dxhat = dy[at] * N.gamma.w[j];
      dz[at] = N.inv_std[j] * inv_n * (static_cast<float>(n) * dxhat - sum_dxhat[j] - xhat[at] * sum_dxhat_xhat[j]);
    }
}

}  // namespace

struct NativeDeepTrainer::State {
  Table user_vectors, item_vectors;
  Linear hidden1, hidden2, out;
  Norm norm1, norm2;
  double dropout = 0;
  at::Generator generator;  // a copy of the model's dropout generator
  int64_t steps = 0;
  // A step's activations and their gradients (rows × width, row-major).
  std::vector<float> x0, z1, xhat1, y1, mask1, d1, z2, xhat2, y2, mask2, d2;
  std::vector<float> score, label, dscore, g_d2, g_y2, g_z2, g_d1, g_y1, g_z1, g_x0;

  std::vector<Table*> all() {
    return {&user_vectors,   &item_vectors,   &hidden1.weight_t, &hidden1.bias, &hidden2.weight_t, &hidden2.bias,
            &out.weight_t,   &out.bias,       &norm1.gamma,      &norm1.beta,   &norm2.gamma,      &norm2.beta};
  }
};

NativeDeepTrainer::NativeDeepTrainer(int64_t num_users, int64_t num_items, uint64_t model_seed,
                                     const LossFunction& loss, TrainConfig config)
    : NativeDeepTrainer(*make_model("deepmodel", num_users, num_items, model_seed), loss, std::move(config)) {}

NativeDeepTrainer::NativeDeepTrainer(const RecModel& model, const LossFunction& loss, TrainConfig config)
    : config_(std::move(config)), batches_(std::make_unique<native::Batches>(config_.seed)) {
  const auto* deep = dynamic_cast<const DeepModel*>(&model);
  if (!deep) throw std::invalid_argument("NativeDeepTrainer: the model is not a DeepModel");
  loss_ = std::make_unique<native::LossStep>(loss, config_);

  const auto params = model.named_parameters();
  const auto buffers = model.named_buffers();
  const at::Tensor users = named(params, "user_vectors.weight"), items = named(params, "item_vectors.weight");
  if (const at::Tensor* tracked = buffers.find("norm1.num_batches_tracked")) num_batches_tracked_ = tracked->item<int64_t>();
  state_.reset(new State{Table(users.size(0), users.size(1), users), Table(items.size(0), items.size(1), items),
                         make_linear(params, "hidden1"), make_linear(params, "hidden2"), make_linear(params, "out"),
                         make_norm(params, buffers, "norm1"), make_norm(params, buffers, "norm2"), deep->dropout(),
                         model.dropout_generator() ? model.dropout_generator()->clone()
                                                   : at::detail::getDefaultCPUGenerator().clone()});
  for (Table* t : state_->all()) native::prepare_state(*t, config_.optimizer);
}

NativeDeepTrainer::~NativeDeepTrainer() = default;

void NativeDeepTrainer::write_to(RecModel& model) {
  bring_up_to_date();
  State& S = *state_;
  torch::NoGradGuard no_grad;
  const auto params = model.named_parameters();
  const auto buffers = model.named_buffers();
  const auto put = [](const at::Tensor* target, const std::string& name, const float* data, at::IntArrayRef sizes) {
    if (!target) throw std::invalid_argument(fmt::format("NativeDeepTrainer::write_to: no '{}'", name));
    if (target->sizes() != sizes) throw std::invalid_argument(fmt::format("NativeDeepTrainer::write_to: '{}' has another shape", name));
    at::Tensor(*target).copy_(at::from_blob(const_cast<float*>(data), sizes, at::kFloat));
  };
  for (auto [name, table] : {std::pair{"user_vectors.weight", &S.user_vectors}, {"item_vectors.weight", &S.item_vectors}})
    put(params.find(name), name, table->w.data(), {table->rows, table->width});
  for (auto [name, L] : {std::pair{"hidden1", &S.hidden1}, {"hidden2", &S.hidden2}, {"out", &S.out}}) {
    const at::Tensor w = at::from_blob(L->weight_t.w.data(), {L->in, L->out}, at::kFloat).t().contiguous();
    put(params.find(std::string(name) + ".weight"), name, w.data_ptr<float>(), {L->out, L->in});
    put(params.find(std::string(name) + ".bias"), name, L->bias.w.data(), {L->out});
  }
  for (auto [name, N] : {std::pair{"norm1", &S.norm1}, {"norm2", &S.norm2}}) {
    const int64_t width = N->gamma.width;
    put(params.find(std::string(name) + ".weight"), name, N->gamma.w.data(), {width});
    put(params.find(std::string(name) + ".bias"), name, N->beta.w.data(), {width});
    put(buffers.find(std::string(name) + ".running_mean"), name, N->running_mean.data(), {width});
    put(buffers.find(std::string(name) + ".running_var"), name, N->running_var.data(), {width});
    if (const at::Tensor* tracked = buffers.find(std::string(name) + ".num_batches_tracked"))
      at::Tensor(*tracked).fill_(S.steps + num_batches_tracked_);
  }
}

void NativeDeepTrainer::bring_up_to_date() { native::bring_up_to_date(state_->all(), config_, state_->steps); }

double NativeDeepTrainer::step(const int64_t* rows, int64_t n, const Interactions& data) {
  if (n < 2)
    throw std::invalid_argument("NativeDeepTrainer: a batch of one row (BatchNorm needs two; choose another --batch)");
  State& S = *state_;
  const bool gd = config_.optimizer == "gd";
  const double lazy_factor = native::lazy_decay_factor(config_);
  const int64_t* users = data.users.data_ptr<int64_t>();
  const int64_t* items = data.items.data_ptr<int64_t>();
  const float* labels = data.labels.data_ptr<float>();
  const int64_t dim = S.user_vectors.width, in1 = S.hidden1.in, h1 = S.hidden1.out, h2 = S.hidden2.out;
  const auto sized = [](std::vector<float>& v, int64_t size) { v.assign(static_cast<size_t>(size), 0.0f); };

  // Every dense table takes part in every step (its gradient row zeroed).
  for (Table* t : S.all())
    if (t != &S.user_vectors && t != &S.item_vectors) {
      if (gd) native::lazy_decay(*t, 0, lazy_factor, S.steps);
      t->grad_row(0);
    }

  // Forward: [user | item] → Linear → BatchNorm → ReLU → Dropout, twice → Linear.
  sized(S.x0, n * in1);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t u = users[rows[k]], i = items[rows[k]];
    for (auto [t, r] : {std::pair{&S.user_vectors, u}, {&S.item_vectors, i}}) {
      if (gd) native::lazy_decay(*t, r, lazy_factor, S.steps);
      t->grad_row(r);
    }
    std::copy(S.user_vectors.row(u), S.user_vectors.row(u) + dim, S.x0.data() + k * in1);
    std::copy(S.item_vectors.row(i), S.item_vectors.row(i) + dim, S.x0.data() + k * in1 + dim);
  }
  const auto layer = [&](Linear& L, Norm& N, const std::vector<float>& x, std::vector<float>& z,
                         std::vector<float>& xhat, std::vector<float>& y, std::vector<float>& mask,
                         std::vector<float>& d) {
    const int64_t width = L.out;
    sized(z, n * width), sized(xhat, n * width), sized(y, n * width), sized(d, n * width);
    linear_forward(L, x.data(), n, z.data());
    norm_forward_train(N, z.data(), n, xhat.data(), y.data());
    mask.assign(static_cast<size_t>(n * width), 1.0f);
    if (S.dropout > 0) {  // torch's dropout, with the model's generator: the same masks
      at::Tensor noise = at::empty({n, width}, at::kFloat);
      noise.bernoulli_(1 - S.dropout, S.generator);
      noise.div_(1 - S.dropout);
      std::copy(noise.data_ptr<float>(), noise.data_ptr<float>() + n * width, mask.begin());
    }
    for (int64_t a = 0; a < n * width; ++a) d[a] = std::max(y[a], 0.0f) * mask[a];
  };
  layer(S.hidden1, S.norm1, S.x0, S.z1, S.xhat1, S.y1, S.mask1, S.d1);
  layer(S.hidden2, S.norm2, S.d1, S.z2, S.xhat2, S.y2, S.mask2, S.d2);
  sized(S.score, n);
  linear_forward(S.out, S.d2.data(), n, S.score.data());

  // The loss and ∂loss/∂score.
  sized(S.label, n);
  for (int64_t k = 0; k < n; ++k) S.label[k] = labels[rows[k]];
  const double value = loss_->run(S.score.data(), S.label.data(), n, S.dscore);

  // Backward, layer by layer; ReLU passes where its output is positive.
  const auto back = [&](Linear& L, Norm& N, const std::vector<float>& x, const std::vector<float>& xhat,
                        const std::vector<float>& y, const std::vector<float>& mask, std::vector<float>& g_d,
                        std::vector<float>& g_y, std::vector<float>& g_z, std::vector<float>* g_x) {
    const int64_t width = L.out;
    sized(g_y, n * width), sized(g_z, n * width);
    for (int64_t a = 0; a < n * width; ++a) g_y[a] = y[a] > 0 ? g_d[a] * mask[a] : 0.0f;
    norm_backward(N, xhat.data(), g_y.data(), n, g_z.data());
    if (g_x) sized(*g_x, n * L.in);
    linear_backward(L, x.data(), g_z.data(), n, g_x ? g_x->data() : nullptr);
  };
  sized(S.g_d2, n * h2);
  linear_backward(S.out, S.d2.data(), S.dscore.data(), n, S.g_d2.data());
  back(S.hidden2, S.norm2, S.d1, S.xhat2, S.y2, S.mask2, S.g_d2, S.g_y2, S.g_z2, &S.g_d1);
  back(S.hidden1, S.norm1, S.x0, S.xhat1, S.y1, S.mask1, S.g_d1, S.g_y1, S.g_z1, &S.g_x0);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t u = users[rows[k]], i = items[rows[k]];
    float* gu = S.user_vectors.grad_row(u);
    float* gi = S.item_vectors.grad_row(i);
    const float* gx = S.g_x0.data() + k * in1;
    for (int64_t j = 0; j < dim; ++j) {
      gu[j] += gx[j];
      gi[j] += gx[dim + j];
    }
  }

  ++S.steps;
  const native::UpdateRule rule = native::update_rule(config_, S.steps);
  for (Table* t : S.all()) native::step_table(*t, rule, config_.optimizer, S.steps);
  return value;
}

double NativeDeepTrainer::train_steps(const Interactions& train, int64_t steps) {
  return batches_->train_steps(train.size(), steps, config_,
                               [&](const int64_t* rows, int64_t n) { return step(rows, n, train); });
}

double NativeDeepTrainer::train_epoch(const Interactions& train) {
  return batches_->train_epoch(train.size(), config_,
                               [&](const int64_t* rows, int64_t n) { return step(rows, n, train); });
}

std::vector<float> NativeDeepTrainer::predict(const Interactions& rows) {
  bring_up_to_date();
  State& S = *state_;
  const int64_t* users = rows.users.data_ptr<int64_t>();
  const int64_t* items = rows.items.data_ptr<int64_t>();
  const int64_t dim = S.user_vectors.width, in1 = S.hidden1.in;
  std::vector<float> prob(static_cast<size_t>(rows.size()));
  constexpr int64_t kChunk = 1024;
  std::vector<float> x0, z1, z2, score;
  for (int64_t start = 0; start < rows.size(); start += kChunk) {
    const int64_t n = std::min(kChunk, rows.size() - start);
    x0.assign(static_cast<size_t>(n * in1), 0.0f);
    for (int64_t k = 0; k < n; ++k) {
      std::copy(S.user_vectors.row(users[start + k]), S.user_vectors.row(users[start + k]) + dim, x0.data() + k * in1);
      std::copy(S.item_vectors.row(items[start + k]), S.item_vectors.row(items[start + k]) + dim,
                x0.data() + k * in1 + dim);
    }
    const auto layer = [&](const Linear& L, const Norm& N, const std::vector<float>& x, std::vector<float>& z) {
      z.assign(static_cast<size_t>(n * L.out), 0.0f);
      linear_forward(L, x.data(), n, z.data());
      norm_forward_eval(N, z.data(), n);
      for (float& v : z) v = std::max(v, 0.0f);
    };
    layer(S.hidden1, S.norm1, x0, z1);
    layer(S.hidden2, S.norm2, z1, z2);
    score.assign(static_cast<size_t>(n), 0.0f);
    linear_forward(S.out, z2.data(), n, score.data());
    for (int64_t k = 0; k < n; ++k) prob[start + k] = 1.0f / (1.0f + std::exp(-score[k]));
  }
  return prob;
}

Metrics NativeDeepTrainer::evaluate(const Interactions& rows) {
  std::vector<float> prob = predict(rows);
  return compute_metrics(at::from_blob(prob.data(), {static_cast<int64_t>(prob.size())}, at::kFloat), rows.labels);
}

FitResult NativeDeepTrainer::fit(const Dataset& data, const std::function<void(const EpochLog&)>& on_epoch) {
  std::vector<std::vector<float>> best;  // every table's values, then the running statistics
  const auto state_vectors = [&] {
    State& S = *state_;
    std::vector<std::vector<float>*> v;
    for (Table* t : S.all()) v.push_back(&t->w);
    for (Norm* N : {&S.norm1, &S.norm2}) v.insert(v.end(), {&N->running_mean, &N->running_var});
    return v;
  };
  FitHooks hooks;
  hooks.train_epoch = [&] { return train_epoch(data.train); };
  hooks.evaluate = [&](const Interactions& rows) { return evaluate(rows); };
  hooks.save_best = [&] {
    best.clear();
    for (std::vector<float>* v : state_vectors()) best.push_back(*v);  // evaluate() brought every row up to date
  };
  hooks.restore_best = [&] {
    const std::vector<std::vector<float>*> v = state_vectors();
    for (size_t k = 0; k < v.size(); ++k) *v[k] = best[k];
    for (Table* t : state_->all()) std::fill(t->applied.begin(), t->applied.end(), state_->steps);
  };
  return fit_epochs(config_, data, hooks, on_epoch);
}

}  // namespace losscc::models
