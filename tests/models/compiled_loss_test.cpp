// CompiledLoss against the same loss written with LibTorch ops and autograd.
#include "tests/doctest_torch.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <functional>
#include <string>
#include <vector>

#include "compiler/language/parse.h"
#include "runtime/torch/compiled_loss.h"

namespace {

using losscc::CompiledLoss;
using Reference = std::function<at::Tensor(const std::vector<at::Tensor>&)>;

struct Case {
  const char* name;
  const char* source;
  Reference reference;  // the same per-element loss with LibTorch ops, mean-reduced
};

const std::vector<Case>& cases() {
  static const std::vector<Case> table = {
      {"bce", "-(label * log(pred) + (1 - label) * log(1 - pred))",
       [](const std::vector<at::Tensor>& x) {
         return -(x[1] * at::log(x[0]) + (1 - x[1]) * at::log(1 - x[0])).mean();
       }},
      {"mse", "(pred - label)^2",
       [](const std::vector<at::Tensor>& x) { return (x[0] - x[1]).pow(2).mean(); }},
      {"focal", "param gamma = 2\n-label * (1 - pred)^gamma * log(pred) - (1 - label) * pred^gamma * log(1 - pred)",
       [](const std::vector<at::Tensor>& x) {
         return (-x[1] * (1 - x[0]).pow(2) * at::log(x[0]) - (1 - x[1]) * x[0].pow(2) * at::log(1 - x[0])).mean();
       }},
      {"guarded log", "-label * log(max(pred, 0.3)) - (1 - label) * log(max(1 - pred, 0.3))",
       [](const std::vector<at::Tensor>& x) {
         return (-x[1] * at::log(at::clamp_min(x[0], 0.3)) - (1 - x[1]) * at::log(at::clamp_min(1 - x[0], 0.3))).mean();
       }},
      {"bpr", "input pos: real\ninput neg: real\nsoftplus(neg - pos)",
       [](const std::vector<at::Tensor>& x) { return at::softplus(x[1] - x[0]).mean(); }},
  };
  return table;
}

// Inputs for a loss: probabilities in [0.05, 0.95], 0/1 labels, real scores.
std::vector<at::Tensor> inputs_for(const losscc::LossFunction& fn, int64_t n, uint64_t seed) {
  at::manual_seed(seed);
  std::vector<at::Tensor> x;
  for (const losscc::InputDecl& in : fn.inputs) {
    if (in.domain == losscc::Domain::Probability) x.push_back(at::rand({n}) * 0.9 + 0.05);
    else if (in.domain == losscc::Domain::Binary) x.push_back(at::randint(0, 2, {n}).to(at::kFloat));
    else x.push_back(at::randn({n}) * 2);
  }
  return x;
}

void check_close(const at::Tensor& got, const at::Tensor& want) {
  REQUIRE(got.defined());
  REQUIRE(want.defined());
  CHECK((got.sizes() == want.sizes()));
  CHECK(at::allclose(got.to(at::kDouble), want.to(at::kDouble), 1e-4, 1e-6));
}

// Runs both and compares the loss and every gradient, for the grad set
// `needs_grad` and the upstream factor `scale`.
void compare(const Case& c, const std::vector<bool>& needs_grad, double scale, losscc::Reduction reduction) {
  losscc::LossFunction fn = losscc::parse_loss(c.source, c.name);
  fn.reduction = reduction;
  const CompiledLoss loss(fn);
  const int64_t n = 257;  // not a multiple of any vector width

  std::vector<at::Tensor> ours = inputs_for(fn, n, 7), theirs;
  for (size_t k = 0; k < ours.size(); ++k) {
    theirs.push_back(ours[k].clone());
    ours[k].requires_grad_(needs_grad[k]);
    theirs[k].requires_grad_(needs_grad[k]);
  }
  at::Tensor got = loss(ours);
  at::Tensor want = c.reference(theirs);
  if (reduction == losscc::Reduction::Sum) want = want * n;
  CHECK(got.dim() == 0);
  check_close(got, want);
  if (!got.requires_grad()) return;
  (scale * got).backward();
  (scale * want).backward();
  for (size_t k = 0; k < ours.size(); ++k) {
    CAPTURE(k);
    CHECK(ours[k].grad().defined() == needs_grad[k]);
    if (needs_grad[k]) check_close(ours[k].grad(), theirs[k].grad());
  }
}

}  // namespace

TEST_CASE("CompiledLoss matches LibTorch autograd: every grad set, mean and sum, upstream scale") {
  for (const Case& c : cases()) {
    CAPTURE(c.name);
    for (losscc::Reduction reduction : {losscc::Reduction::Mean, losscc::Reduction::Sum})
      for (std::vector<bool> grads : {std::vector<bool>{true, false}, {false, true}, {true, true}, {false, false}})
        for (double scale : {1.0, 2.0, -0.5}) {
          CAPTURE(scale);
          compare(c, grads, scale, reduction);
        }
  }
}

TEST_CASE("CompiledLoss compiles once per grad set and converts dtypes and strides") {
  const CompiledLoss loss(losscc::parse_loss("(pred - label)^2", "mse"));
  // Doubles, as a strided view: converted in, gradient handed back as double.
  at::Tensor wide = at::rand({64, 2}, at::kDouble);
  at::Tensor pred = wide.select(1, 0).detach().requires_grad_(true);
  at::Tensor label = at::randint(0, 2, {64}, at::kLong);  // integer labels
  for (int batch = 0; batch < 3; ++batch) {
    at::Tensor l = loss({pred, label});
    l.backward();
    CHECK((pred.grad().scalar_type() == at::kDouble));
    CHECK(at::allclose(pred.grad(), 2 * (pred.detach() - label.to(at::kDouble)) / 64 * (batch + 1), 1e-5, 1e-6));
  }
  CHECK(loss.kernels_built() == 1);
  {
    torch::NoGradGuard no_grad;  // grad mode off: the forward-only program
    at::Tensor l = loss({pred, label});
    CHECK_FALSE(l.requires_grad());
  }
  CHECK(loss.kernels_built() == 2);
}

TEST_CASE("CompiledLoss rejects mismatched inputs") {
  const CompiledLoss loss(losscc::parse_loss("(pred - label)^2", "mse"));
  CHECK_THROWS_AS(loss({at::rand({4})}), std::invalid_argument);
  CHECK_THROWS_AS(loss({at::rand({4}), at::rand({5})}), std::invalid_argument);
}
