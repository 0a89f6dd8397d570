// The loss-weighting baselines against their papers' updates on two-task toys.
#include "tests/doctest_torch.h"

#include <torch/autograd.h>
#include <torch/optim/sgd.h>

#include <cmath>

#include "models/mtl/weighting.h"

using namespace losscc::models::mtl;

namespace {

ModelShape toy_shape() {
  ModelShape s;
  s.field_sizes = {4, 6};
  s.numerical = 1;
  s.tasks = 2;
  s.embed_dim = 4;
  s.bottom = {8};
  s.tower = {4};
  s.experts = 2;
  s.dropout = 0;
  return s;
}

MtlRows toy_rows(int64_t n) {
  at::manual_seed(5);
  MtlRows rows;
  rows.categorical = at::stack({at::randint(0, 4, {n}), at::randint(0, 6, {n})}, 1).to(at::kLong);
  rows.numerical = at::randn({n, 1});
  rows.labels = at::randint(0, 2, {n, 2}).to(at::kFloat);
  return rows;
}

at::Tensor bce(const at::Tensor& p, const at::Tensor& y) { return -(y * at::log(p) + (1 - y) * at::log(1 - p)); }

}  // namespace

TEST_CASE("GradNorm's weight step by hand") {
  // G = w·g = (2, 1), mean 1.5; r = (1.2, 0.8)/1; targets 1.5·1.2^1.5 = 1.9718
  // and 1.5·0.8^1.5 = 1.0733. G_1 is above its target (step −lr·2), G_2 below
  // (step +lr·1): (0.8, 1.1), renormalised to sum 2.
  const std::vector<double> w = gradnorm_update({1, 1}, {2, 1}, {1.2, 0.8}, 1.5, 0.1);
  CHECK(w[0] == doctest::Approx(0.8 * 2 / 1.9));
  CHECK(w[1] == doctest::Approx(1.1 * 2 / 1.9));
  // α = 0 and equal ratios: the targets are the mean; the larger G shrinks.
  const std::vector<double> v = gradnorm_update({1, 1}, {3, 1}, {1, 1}, 0, 0.05);
  CHECK(v[0] < 1);
  CHECK(v[0] + v[1] == doctest::Approx(2));
}

TEST_CASE("GradNorm in the loop: gradient norms over the shared layer match LibTorch autograd") {
  auto model = make_mtl_model("sharedbottom", toy_shape(), 3);
  WeightingConfig config;
  config.method = "gradnorm";
  config.gradnorm_lr = 0.05;
  auto weighting = make_weighting(config, *model, 2);
  const MultiTaskLoss loss({default_task_loss(), default_task_loss()}, {"a", "b"});
  const MtlRows rows = toy_rows(64);
  const at::Tensor index = at::arange(64, at::kLong);
  model->train();
  const MtlOutput out = model->forward(rows.categorical, rows.numerical);
  const Step step{*model, rows, index, rows, out, loss, 1};
  const auto terms = weighting->terms(step);
  CHECK(at::allclose(terms.weights, at::ones({64, 2})));  // this step: the weights before the update

  // The same norms with LibTorch's BCE; at the first step every ratio is 1.
  std::vector<double> norms;
  const at::Tensor p = out.prob.clamp(1e-7, 1 - 1e-7);
  for (int k = 0; k < 2; ++k) {
    const at::Tensor l = bce(p.select(1, k), rows.labels.select(1, k)).mean();
    const auto g = torch::autograd::grad({l}, model->shared_parameters(), {}, true);
    norms.push_back(g[0].norm().item<double>());
  }
  const std::vector<double> want = gradnorm_update({1, 1}, norms, {1, 1}, 1.5, 0.05);
  const auto got = weighting->state().at("weights");
  CHECK(got[0].get<double>() == doctest::Approx(want[0]).epsilon(1e-4));
  CHECK(got[1].get<double>() == doctest::Approx(want[1]).epsilon(1e-4));
  CHECK(got[0].get<double>() + got[1].get<double>() == doctest::Approx(2));

  auto single = make_mtl_model("single", toy_shape(), 3);
  CHECK_THROWS_AS(make_weighting(config, *single, 2), std::invalid_argument);
}

TEST_CASE("uncertainty weighting: the gradient of ½·exp(−s)·L + ½·s, and s settles at log L") {
  auto model = make_mtl_model("mmoe", toy_shape(), 3);
  WeightingConfig config;
  config.method = "uw";
  auto weighting = make_weighting(config, *model, 2);
  REQUIRE(weighting->parameters().size() == 1);
  at::Tensor s = weighting->parameters()[0];
  const MultiTaskLoss loss({default_task_loss(), default_task_loss()}, {"a", "b"});
  const MtlRows rows = toy_rows(32);
  const at::Tensor index = at::arange(32, at::kLong);
  torch::NoGradGuard no_grad_model;  // only s is trained here: the task losses are fixed
  model->eval();
  const MtlOutput out = model->forward(rows.categorical, rows.numerical);
  const at::Tensor task_loss = bce(out.prob.clamp(1e-7, 1 - 1e-7), rows.labels).mean(0).to(at::kDouble);

  torch::optim::SGD sgd({s}, torch::optim::SGDOptions(0.5));
  for (int it = 0; it < 400; ++it) {
    torch::AutoGradMode grad_on(true);
    const Step step{*model, rows, index, rows, out, loss, 1};
    const auto terms = weighting->terms(step);
    const at::Tensor objective = loss(out, rows.labels, terms.weights) + terms.extra;
    sgd.zero_grad();
    objective.backward();
    if (it == 0) {
      // d/ds_k of (1/K)·(½·exp(−s_k)·L_k + ½·s_k) at s = 0: (1/2)·(−½·L_k + ½).
      for (int k = 0; k < 2; ++k)
        CHECK(s.grad()[k].item<double>() == doctest::Approx(0.5 * (-0.5 * task_loss[k].item<double>() + 0.5)).epsilon(1e-4));
    }
    sgd.step();
  }
  for (int k = 0; k < 2; ++k) CHECK(s[k].item<double>() == doctest::Approx(std::log(task_loss[k].item<double>())).epsilon(1e-3));
}

TEST_CASE("DWA: softmax of the last two epochs' loss ratios, equal before that") {
  const std::vector<double> w = dwa_weights({0.5, 0.2}, {1.0, 0.25}, 2);
  const double a = std::exp(0.5 / 2), b = std::exp(0.8 / 2);
  CHECK(w[0] == doctest::Approx(2 * a / (a + b)));
  CHECK(w[1] == doctest::Approx(2 * b / (a + b)));

  auto model = make_mtl_model("mmoe", toy_shape(), 3);
  WeightingConfig config;
  config.method = "dwa";
  auto weighting = make_weighting(config, *model, 2);
  weighting->end_epoch({1.0, 0.25});
  CHECK(weighting->state().at("weights") == nlohmann::json({1.0, 1.0}));
  weighting->end_epoch({0.5, 0.2});
  CHECK(weighting->state().at("weights")[1].get<double>() == doctest::Approx(w[1]));
}

TEST_CASE("fixed and equal weights; bad settings are rejected") {
  auto model = make_mtl_model("mmoe", toy_shape(), 3);
  WeightingConfig config;
  config.method = "fixed";
  config.fixed = {0.2, 3};
  auto weighting = make_weighting(config, *model, 2);
  const MultiTaskLoss loss({default_task_loss(), default_task_loss()}, {"a", "b"});
  const MtlRows rows = toy_rows(8);
  const at::Tensor index = at::arange(8, at::kLong);
  const MtlOutput out = model->forward(rows.categorical, rows.numerical);
  const auto terms = weighting->terms({*model, rows, index, rows, out, loss, 1});
  CHECK(at::allclose(terms.weights, at::tensor({0.2f, 3.f}).expand({8, 2})));
  config.fixed = {1};
  CHECK_THROWS_AS(make_weighting(config, *model, 2), std::invalid_argument);
  config.method = "magic";
  CHECK_THROWS_AS(make_weighting(config, *model, 2), std::invalid_argument);
}
