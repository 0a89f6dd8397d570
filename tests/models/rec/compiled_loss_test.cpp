// CompiledLoss against the same loss written with LibTorch ops and autograd.
#include "tests/doctest_torch.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "compiler/interp/segmented.h"
#include "compiler/language/parse.h"
#include "compiler/passes/build_program.h"
#include "runtime/torch/compiled_loss.h"
#include "tests/compiler/ranking_lists.h"

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

// ---- ranking losses: the op with segment offsets ----------------------------

namespace {

const char* const kRankingExamples[] = {"rank_mse", "ranknet", "rank_hinge", "lambdarank",
                                        "listnet",  "listmle", "approx_ndcg", "lambdaloss"};

losscc::LossFunction ranking_example(const std::string& name) {
  return losscc::parse_loss_file(std::string(LOSSCC_SOURCE_DIR "/examples/") + name + ".loss");
}

}  // namespace

TEST_CASE("CompiledLoss with offsets matches the interpreter on every ranking example") {
  const losscc::testing::Lists lists = losscc::testing::random_lists(11, 40);
  const at::Tensor offsets = at::tensor(lists.offsets, at::kLong);
  const at::Tensor score64 = at::tensor(lists.score, at::kDouble);
  const at::Tensor label64 = at::tensor(lists.label, at::kDouble);
  // The values the float kernel sees, in double for the oracle.
  std::vector<double> score_d(lists.size()), label_d(lists.size());
  for (int64_t i = 0; i < lists.size(); ++i) {
    score_d[i] = static_cast<double>(static_cast<float>(lists.score[i]));
    label_d[i] = static_cast<double>(static_cast<float>(lists.label[i]));
  }
  for (const char* name : kRankingExamples) {
    CAPTURE(name);
    const losscc::LossFunction fn = ranking_example(name);
    const CompiledLoss loss(fn);
    const losscc::ProgramResult want = losscc::run_grouped_program(
        losscc::build_program(fn, {0}), std::vector<const double*>{score_d.data(), label_d.data()}, lists.offsets.data(),
        lists.queries());

    at::Tensor score = score64.to(at::kFloat).requires_grad_(true);
    const at::Tensor label = label64.to(at::kFloat);
    for (double scale : {1.0, -2.0}) {
      CAPTURE(scale);
      if (score.grad().defined()) score.grad().zero_();
      at::Tensor got = loss({score, label}, offsets);
      REQUIRE(got.dim() == 0);
      CHECK(std::fabs(got.item<double>() - want.loss) <= 2e-4 * std::max(1.0, std::fabs(want.loss)));
      (scale * got).backward();
      const at::Tensor expected = at::tensor(want.grads[0], at::kDouble) * scale;
      CHECK(at::allclose(score.grad().to(at::kDouble), expected, 1e-3, 1e-5));
    }
  }
}

TEST_CASE("CompiledLoss with offsets matches LibTorch autograd for RankNet and ListNet") {
  const losscc::testing::Lists lists = losscc::testing::random_lists(5, 30);
  const at::Tensor offsets = at::tensor(lists.offsets, at::kLong);
  const at::Tensor label = at::tensor(lists.label, at::kDouble).to(at::kFloat);
  const at::Tensor base = at::tensor(lists.score, at::kDouble).to(at::kFloat);
  // LibTorch references, one query at a time, mean over queries.
  auto reference = [&](const std::string& name, const at::Tensor& s) {
    at::Tensor total = at::zeros({}, at::kFloat);
    for (int64_t q = 0; q < lists.queries(); ++q) {
      const int64_t b = lists.offsets[q], e = lists.offsets[q + 1];
      const at::Tensor sq = s.slice(0, b, e), lq = label.slice(0, b, e);
      if (name == "ranknet") {
        const at::Tensor diff = sq.unsqueeze(1) - sq.unsqueeze(0);    // s_i - s_j
        const at::Tensor better = (lq.unsqueeze(1) > lq.unsqueeze(0));  // label_i > label_j
        total = total + at::where(better, at::softplus(-diff), at::zeros_like(diff)).sum();
      } else {  // listnet
        total = total - (at::softmax(lq, 0) * at::log_softmax(sq, 0)).sum();
      }
    }
    return total / static_cast<double>(lists.queries());
  };
  for (const char* name : {"ranknet", "listnet"}) {
    CAPTURE(name);
    const CompiledLoss loss(ranking_example(name));
    at::Tensor ours = base.clone().requires_grad_(true), theirs = base.clone().requires_grad_(true);
    at::Tensor got = loss({ours, label}, offsets), want = reference(name, theirs);
    CHECK(std::fabs(got.item<double>() - want.item<double>()) <= 1e-4 * std::max(1.0, std::fabs(want.item<double>())));
    got.backward();
    want.backward();
    CHECK(at::allclose(ours.grad(), theirs.grad(), 1e-3, 1e-5));
  }
}

TEST_CASE("CompiledLoss: offsets are required exactly for ranking losses, and checked") {
  const CompiledLoss ranknet(ranking_example("ranknet"));
  const CompiledLoss mse(losscc::parse_loss("(pred - label)^2", "mse"));
  const at::Tensor s = at::rand({6}), l = at::randint(0, 3, {6}).to(at::kFloat);
  CHECK_THROWS_AS(ranknet({s, l}), std::invalid_argument);
  CHECK_THROWS_AS(mse({s, l}, at::tensor(std::vector<int64_t>{0, 6})), std::invalid_argument);
  CHECK_THROWS_AS(ranknet({s, l}, at::tensor(std::vector<int64_t>{0, 3, 5})), std::invalid_argument);  // ends early
  CHECK_THROWS_AS(ranknet({s, l}, at::tensor(std::vector<int64_t>{0, 4, 4, 6})), std::invalid_argument);  // empty query
  CHECK_NOTHROW(ranknet({s, l}, at::tensor(std::vector<int64_t>{0, 2, 6})));
}
