// RMTL's pieces by hand: TD targets, weights, rewards, soft updates, critics,
// and the critic targets of a replay batch against the whole batch's.
#include "tests/doctest_torch.h"

#include <torch/autograd.h>

#include "models/mtl/rmtl.h"
#include "models/mtl/sessions.h"
#include "tests/models/mtl/tiny_shape.h"

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

TEST_CASE("critic targets: s′ evaluated on the rows that go on equals the whole batch's TD targets") {
  SyntheticSessionConfig c;
  c.sessions = 60;
  c.items = 20;
  const MtlDataset data = synthetic_sessions(c);
  const ModelShape shape = testing::tiny_shape(data);
  const std::shared_ptr<MtlModel> actor = make_mtl_model("mmoe", shape, 3);
  at::manual_seed(4);
  std::vector<Critic> critics, targets;
  for (int64_t k = 0; k < shape.tasks; ++k) {
    critics.push_back(Critic(shape, shape.bottom, shape.tower));
    targets.push_back(Critic(shape, shape.bottom, shape.tower));
  }
  const MtlRows& train = data.train;
  const int64_t n = 97;
  const at::Tensor rows = at::randint(0, train.size(), {n}, at::kLong);
  const at::Tensor raw_next = train.next.index_select(0, rows);
  const at::Tensor done = raw_next.lt(0).to(at::kFloat);
  const at::Tensor next = at::where(raw_next.lt(0), rows, raw_next);
  REQUIRE(done.sum().item<double>() > 0);   // both kinds of rows
  REQUIRE(done.sum().item<double>() < n);
  const at::Tensor rewards = -at::rand({n, shape.tasks});
  const at::Tensor smoothing = (at::randn({n, shape.tasks}) * 0.05).clamp(-0.1, 0.1);

  const std::vector<at::Tensor> got =
      critic_targets(*actor, critics, targets, train, next, done, rewards, smoothing, 0.95);

  torch::NoGradGuard no_grad;  // every network is in eval mode now
  const MtlRows s_next = train.select(next);
  const at::Tensor a = (actor->forward(s_next.categorical, s_next.numerical).prob + smoothing).clamp(0, 1);
  REQUIRE(got.size() == static_cast<size_t>(shape.tasks));
  for (int64_t k = 0; k < shape.tasks; ++k) {
    const at::Tensor whole = td_targets(rewards.select(1, k), done,
                                        targets[k]->forward(s_next.categorical, s_next.numerical, a.select(1, k)),
                                        critics[k]->forward(s_next.categorical, s_next.numerical, a.select(1, k)), 0.95);
    CHECK(at::allclose(got[k], whole, 1e-6, 1e-6));
    CHECK(at::equal(got[k].masked_select(done.gt(0)), rewards.select(1, k).masked_select(done.gt(0))));
  }
}
