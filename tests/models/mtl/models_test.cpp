// Every multi-task model: forward and backward on a tiny batch, any number of
// tasks, determinism by seed, clones.
#include "tests/doctest_torch.h"

#include <torch/autograd.h>

#include "models/mtl/mtl_model.h"

using namespace losscc::models::mtl;

namespace {

ModelShape tiny_shape(int64_t tasks) {
  ModelShape s;
  s.field_sizes = {5, 3, 7};
  s.numerical = 2;
  s.tasks = tasks;
  s.embed_dim = 4;
  s.bottom = {8, 6};
  s.tower = {4};
  s.experts = 3;
  return s;
}

struct Batch {
  at::Tensor categorical, numerical;
};

Batch tiny_batch(int64_t n) {
  at::manual_seed(3);
  return {at::stack({at::randint(0, 5, {n}), at::randint(0, 3, {n}), at::randint(0, 7, {n})}, 1).to(at::kLong),
          at::randn({n, 2})};
}

}  // namespace

TEST_CASE("every model: outputs [n, K] in (0, 1), score = logit(prob), gradients reach every parameter") {
  for (const std::string& kind : mtl_model_kinds()) {
    for (int64_t tasks : {1, 2, 3}) {
      CAPTURE(kind);
      CAPTURE(tasks);
      auto model = make_mtl_model(kind, tiny_shape(tasks), 11);
      CHECK(model->kind() == kind);
      const Batch b = tiny_batch(16);
      model->train();
      const MtlOutput out = model->forward(b.categorical, b.numerical);
      REQUIRE(out.prob.sizes() == at::IntArrayRef({16, tasks}));
      REQUIRE(out.score.sizes() == at::IntArrayRef({16, tasks}));
      CHECK(out.prob.gt(0).all().item<bool>());
      CHECK(out.prob.lt(1).all().item<bool>());
      CHECK(at::allclose(at::sigmoid(out.score), out.prob, 1e-4, 1e-5));
      (out.prob.sum() + out.score.sum()).backward();
      int64_t with_grad = 0, total = 0;
      for (const auto& p : model->named_parameters()) {
        ++total;
        if (p.value().grad().defined() && p.value().grad().abs().sum().item<double>() > 0) ++with_grad;
      }
      // With one task AITM's transfer layers (h, f, g) are unused.
      if (kind == "aitm" && tasks == 1) CHECK(with_grad == total - 6);
      else CHECK(with_grad == total);
      CHECK(model->shared_parameters().empty() == (kind == "single"));
      for (const at::Tensor& p : model->shared_parameters()) CHECK(p.requires_grad());
    }
  }
}

TEST_CASE("esmm chains probabilities: task k is at most task k-1") {
  auto model = make_mtl_model("esmm", tiny_shape(3), 5);
  model->eval();
  const Batch b = tiny_batch(32);
  const MtlOutput out = model->forward(b.categorical, b.numerical);
  CHECK(out.prob.select(1, 1).le(out.prob.select(1, 0) + 1e-7).all().item<bool>());
  CHECK(out.prob.select(1, 2).le(out.prob.select(1, 1) + 1e-7).all().item<bool>());
}

TEST_CASE("models are a function of the seed; clones predict the same") {
  for (const std::string& kind : mtl_model_kinds()) {
    CAPTURE(kind);
    auto a = make_mtl_model(kind, tiny_shape(2), 4);
    auto b = make_mtl_model(kind, tiny_shape(2), 4);
    auto c = make_mtl_model(kind, tiny_shape(2), 5);
    const Batch batch = tiny_batch(8);
    for (auto* m : {a.get(), b.get(), c.get()}) m->eval();
    const at::Tensor pa = a->forward(batch.categorical, batch.numerical).prob;
    CHECK(at::equal(pa, b->forward(batch.categorical, batch.numerical).prob));
    CHECK_FALSE(at::equal(pa, c->forward(batch.categorical, batch.numerical).prob));
    at::manual_seed(99);
    const at::Tensor before = at::rand({3});
    at::manual_seed(99);
    auto clone = a->clone_model();
    CHECK(at::equal(before, at::rand({3})));  // cloning leaves the generator alone
    clone->eval();
    CHECK(at::equal(pa, clone->forward(batch.categorical, batch.numerical).prob));
  }
}

TEST_CASE("make_mtl_model rejects unknown kinds and bad shapes") {
  CHECK_THROWS_AS(make_mtl_model("moe", tiny_shape(2), 1), std::invalid_argument);
  ModelShape bad = tiny_shape(2);
  bad.bottom = {};
  CHECK_THROWS_AS(make_mtl_model("mmoe", bad, 1), std::invalid_argument);
  bad = tiny_shape(0);
  CHECK_THROWS_AS(make_mtl_model("mmoe", bad, 1), std::invalid_argument);
}
