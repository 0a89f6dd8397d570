// RMTL's pieces by hand: TD targets, weights, rewards, soft updates, critics.
#include "tests/doctest_torch.h"

#include <torch/autograd.h>

#include "models/mtl/rmtl.h"

using namespace losscc::models::mtl;

TEST_CASE("TD target: r + γ·(1 − done)·min(Q_target, Q)(s′, a′), by hand") {
  const at::Tensor r = at::tensor({-0.5f, -1.0f, -0.2f});
  const at::Tensor done = at::tensor({0.f, 1.f, 0.f});
  const at::Tensor q_target = at::tensor({-2.f, -3.f, -0.1f});
  const at::Tensor q = at::tensor({-1.5f, -4.f, -0.4f});
  const at::Tensor y = td_targets(r, done, q_target, q, 0.95);
  CHECK(y[0].item<double>() == doctest::Approx(-0.5 + 0.95 * -2.0));
  CHECK(y[1].item<double>() == doctest::Approx(-1.0));  // done: the reward alone
  CHECK(y[2].item<double>() == doctest::Approx(-0.2 + 0.95 * -0.4));
}

TEST_CASE("weights 1 − λ·Q are >= 1 for Q <= 0 and carry no gradient") {
  at::manual_seed(1);
  const at::Tensor q = (-at::rand({100}) * 5).requires_grad_(true);
  const at::Tensor w = rmtl_weights(q, 0.7);
  CHECK(w.ge(1).all().item<bool>());
  CHECK_FALSE(w.requires_grad());
  CHECK(at::allclose(w, 1 - 0.7 * q.detach()));
}

TEST_CASE("reward: negative BCE with the action clipped to [1e-4, 1 − 1e-4]") {
  const at::Tensor r = bce_reward(at::tensor({0.8f, 0.8f, 0.f, 1.f}), at::tensor({1.f, 0.f, 1.f, 1.f}));
  CHECK(r[0].item<double>() == doctest::Approx(std::log(0.8)));
  CHECK(r[1].item<double>() == doctest::Approx(std::log(0.2)).epsilon(1e-5));
  CHECK(r[2].item<double>() == doctest::Approx(std::log(1e-4)).epsilon(1e-4));
  CHECK(r[3].item<double>() == doctest::Approx(std::log(1 - 1e-4)).epsilon(1e-3));
}

TEST_CASE("critics: Q <= 0 whatever the input; soft updates move targets by τ") {
  ModelShape shape;
  shape.field_sizes = {3, 4};
  shape.numerical = 2;
  shape.embed_dim = 4;
  at::manual_seed(2);
  Critic critic(shape, std::vector<int64_t>{16, 8}, std::vector<int64_t>{4});
  Critic target(shape, std::vector<int64_t>{16, 8}, std::vector<int64_t>{4});
  const at::Tensor cat = at::stack({at::randint(0, 3, {64}), at::randint(0, 4, {64})}, 1).to(at::kLong);
  const at::Tensor q = critic->forward(cat, at::randn({64, 2}) * 10, at::rand({64}));
  CHECK(q.le(0).all().item<bool>());

  const at::Tensor before = target->action_layer->weight.detach().clone();
  soft_update(*target, *critic, 0.2);
  CHECK(at::allclose(target->action_layer->weight, 0.2 * critic->action_layer->weight.detach() + 0.8 * before));
}
