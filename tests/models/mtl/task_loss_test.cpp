// The fused task losses against the same losses written with LibTorch ops
// and differentiated by LibTorch autograd.
#include "tests/doctest_torch.h"

#include <torch/autograd.h>

#include "compiler/language/parse.h"
#include "models/mtl/task_loss.h"

using namespace losscc;
using namespace losscc::models::mtl;

namespace {

at::Tensor bce(const at::Tensor& p, const at::Tensor& y) { return -(y * at::log(p) + (1 - y) * at::log(1 - p)); }

void check_close(const at::Tensor& got, const at::Tensor& want) {
  REQUIRE(got.defined());
  REQUIRE(want.defined());
  CHECK(got.sizes() == want.sizes());
  CHECK(at::allclose(got.to(at::kDouble), want.to(at::kDouble), 1e-4, 1e-6));
}

// Two tasks' scores (N(0, 4)) and 0/1 labels of n rows drawn from `seed`:
// the scores the loss under test reads (through `out`) and a copy for the
// LibTorch reference, whose probabilities `p` are clamped as the loss's are.
struct TwoTaskBatch {
  at::Tensor labels, score, reference, p;
  MtlOutput out;
};
TwoTaskBatch two_task_batch(int64_t n, uint64_t seed) {
  at::manual_seed(seed);
  const at::Tensor score0 = at::randn({n, 2}) * 2;
  TwoTaskBatch b;
  b.labels = at::randint(0, 2, {n, 2}).to(at::kFloat);
  b.score = score0.clone().requires_grad_(true);
  b.out = {at::sigmoid(b.score), b.score};
  b.reference = score0.clone().requires_grad_(true);
  b.p = at::sigmoid(b.reference).clamp(1e-7, 1 - 1e-7);
  return b;
}

}  // namespace

TEST_CASE("fused task losses: value and gradients of prob, score and weights match LibTorch autograd") {
  // Three tasks: bce on the probability, focal (gamma 2) on the probability,
  // and a logistic loss on the raw score.
  const std::vector<LossFunction> losses = {
      default_task_loss(),
      parse_loss("param gamma = 2\n-label * (1 - pred)^gamma * log(pred) - (1 - label) * pred^gamma * log(1 - pred)", "focal"),
      parse_loss("input s: real as pred\ninput label: binary\nsoftplus(s) - label * s", "logistic"),
  };
  const MultiTaskLoss loss(losses, {"a", "b", "c"});
  CHECK(loss.tasks() == 3);
  CHECK(loss.fused().inputs.size() == 9);

  const int64_t n = 131;
  at::manual_seed(1);
  const at::Tensor score0 = at::randn({n, 3}) * 2;
  const at::Tensor labels = at::randint(0, 2, {n, 3}).to(at::kFloat);
  const at::Tensor weights0 = at::rand({n, 3}) + 0.5;

  at::Tensor score = score0.clone().requires_grad_(true), weights = weights0.clone().requires_grad_(true);
  const MtlOutput out{at::sigmoid(score), score};
  const at::Tensor got = loss(out, labels, weights);
  got.backward();

  at::Tensor rscore = score0.clone().requires_grad_(true), rweights = weights0.clone().requires_grad_(true);
  const at::Tensor p = at::sigmoid(rscore).clamp(1e-7, 1 - 1e-7);
  const at::Tensor y = labels;
  const at::Tensor per = at::stack({bce(p.select(1, 0), y.select(1, 0)),
                                    -y.select(1, 1) * (1 - p.select(1, 1)).pow(2) * at::log(p.select(1, 1)) -
                                        (1 - y.select(1, 1)) * p.select(1, 1).pow(2) * at::log(1 - p.select(1, 1)),
                                    at::softplus(rscore.select(1, 2)) - y.select(1, 2) * rscore.select(1, 2)},
                                   1);
  const at::Tensor want = (rweights * per).sum(1).mean() / 3;
  want.backward();

  check_close(got, want);
  check_close(score.grad(), rscore.grad());
  check_close(weights.grad(), rweights.grad());
  // Per-sample losses from the weights' gradient, and from per_sample().
  check_close(loss.per_sample_from_grad(weights.grad()), per.detach());
  check_close(loss.per_sample(out, labels), per.detach());
}

TEST_CASE("fused task losses: weights given as a broadcast of per-task scalars get summed gradients") {
  const MultiTaskLoss loss({default_task_loss(), default_task_loss()}, {"a", "b"});
  at::manual_seed(2);
  const int64_t n = 64;
  const at::Tensor prob = at::rand({n, 2}) * 0.9 + 0.05;
  const at::Tensor labels = at::randint(0, 2, {n, 2}).to(at::kFloat);
  at::Tensor task_w = at::tensor({0.3f, 2.0f}).requires_grad_(true);
  const at::Tensor got = loss({prob, at::logit(prob)}, labels, task_w.view({1, 2}).expand({n, 2}));
  got.backward();
  const at::Tensor l = bce(prob, labels).mean(0);  // L_k
  CHECK(got.item<double>() == doctest::Approx(((0.3 * l[0] + 2.0 * l[1]) / 2).item<double>()).epsilon(1e-5));
  check_close(task_w.grad(), l / 2);
}

TEST_CASE("task losses a task cannot feed are rejected, naming the task") {
  auto message = [](const std::vector<LossFunction>& losses) {
    try {
      MultiTaskLoss loss(losses, {"income", "married"});
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const LossFunction pairwise = parse_loss("input pos: real\ninput neg: real\nsoftplus(neg - pos)", "bpr");
  CHECK(message({default_task_loss(), pairwise}).find("task 'married'") != std::string::npos);
  LossFunction summed = default_task_loss();
  summed.reduction = Reduction::Sum;
  CHECK(message({summed, default_task_loss()}).find("mean-reduced") != std::string::npos);
  CHECK(message({default_task_loss()}).find("1 losses for 2 tasks") != std::string::npos);
}

TEST_CASE("a multi-task program: the tasks' predictions and labels in declaration order, against LibTorch autograd") {
  // examples/mtl_chain.loss: a cross-task term, the second task's loss
  // weighed by 1 + the first task's probability. The labels are declared
  // before the predictions, so the pairing is by order within each role.
  const LossFunction program = parse_loss(
      "input y1: binary as label\ninput y2: binary as label\ninput p1: prob as pred\ninput p2: prob as pred\n"
      "let bce1 = -(y1 * log(p1) + (1 - y1) * log(1 - p1))\n"
      "let bce2 = -(y2 * log(p2) + (1 - y2) * log(1 - p2))\n"
      "bce1 + (1 + p1) * bce2",
      "chain");
  const MultiTaskLoss loss({program}, {"click", "pay"});
  CHECK(loss.whole_program());
  CHECK(loss.tasks() == 2);
  const int64_t n = 97;
  const TwoTaskBatch b = two_task_batch(n, 3);
  const at::Tensor got = loss(b.out, b.labels, at::ones({n, 2}));
  got.backward();

  const at::Tensor& p = b.p;
  const at::Tensor per = bce(p.select(1, 0), b.labels.select(1, 0)) +
                         (1 + p.select(1, 0)) * bce(p.select(1, 1), b.labels.select(1, 1));
  const at::Tensor want = per.mean();
  want.backward();
  check_close(got, want);
  check_close(b.score.grad(), b.reference.grad());
  // Every task's per-sample loss is the program's value.
  check_close(loss.per_sample(b.out, b.labels), at::stack({per, per}, 1).detach());
}

TEST_CASE("a multi-task program over the batch (batch means of the task losses) against LibTorch autograd") {
  // examples/mtl_loss_ratio.loss: each task's loss over its batch mean, held constant.
  const LossFunction program = parse_loss_file(LOSSCC_SOURCE_DIR "/examples/mtl_loss_ratio.loss");
  const MultiTaskLoss loss({program}, {"click", "pay"});
  CHECK(loss.whole_program());
  CHECK(loss.batch_program());
  const int64_t n = 83;
  const TwoTaskBatch b = two_task_batch(n, 5);
  at::Tensor weights = at::ones({n, 2}).requires_grad_(true);
  const at::Tensor got = loss(b.out, b.labels, weights);
  got.backward();

  const at::Tensor& p = b.p;
  const at::Tensor l1 = bce(p.select(1, 0), b.labels.select(1, 0)), l2 = bce(p.select(1, 1), b.labels.select(1, 1));
  const at::Tensor want = (l1 / l1.detach().mean() + l2 / l2.detach().mean()).mean();
  want.backward();
  check_close(got, want);
  check_close(b.score.grad(), b.reference.grad());
  // Every row's per-sample loss is the batch's value (the program has no per-row parts).
  check_close(loss.per_sample_from_grad(weights.grad()), at::full({n, 2}, want.item<double>()));
  check_close(loss.per_sample(b.out, b.labels), at::full({n, 2}, want.item<double>()));
}

TEST_CASE("a task loss that reads the batch is rejected, naming the task") {
  const LossFunction batch_mean = parse_loss("qmean(-(label * log(pred) / qmean(detach(pred))))", "batch");
  CHECK_THROWS_WITH_AS(MultiTaskLoss({default_task_loss(), batch_mean}, {"click", "pay"}),
                       doctest::Contains("task 'pay': a task loss is per row"), std::invalid_argument);
}

TEST_CASE("a multi-task program with equal weights of 1/2 trains as the default equal weighting") {
  const LossFunction halves = parse_loss(
      "input p1: prob as pred\ninput y1: binary as label\ninput p2: prob as pred\ninput y2: binary as label\n"
      "0.5 * -(y1 * log(p1) + (1 - y1) * log(1 - p1)) + 0.5 * -(y2 * log(p2) + (1 - y2) * log(1 - p2))",
      "halves");
  const MultiTaskLoss program({halves}, {"a", "b"}), per_task({default_task_loss(), default_task_loss()}, {"a", "b"});
  at::manual_seed(4);
  const at::Tensor prob = at::rand({50, 2}) * 0.9 + 0.05;
  const at::Tensor labels = at::randint(0, 2, {50, 2}).to(at::kFloat);
  at::Tensor p1 = prob.clone().requires_grad_(true), p2 = prob.clone().requires_grad_(true);
  const at::Tensor ones = at::ones({50, 2});
  const at::Tensor a = program({p1, at::logit(prob)}, labels, ones), b = per_task({p2, at::logit(prob)}, labels, ones);
  a.backward();
  b.backward();
  check_close(a, b);
  check_close(p1.grad(), p2.grad());
}

TEST_CASE("a multi-task program whose inputs the tasks cannot feed is rejected") {
  auto message = [](const std::string& source) {
    try {
      MultiTaskLoss loss({parse_loss(source, "bad")}, {"a", "b"});
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(message("input p1: prob as pred\ninput p2: prob as pred\ninput y1: binary as label\n-log(p1) - log(p2) + y1")
            .find("2 prediction and 1 label inputs for 2 tasks") != std::string::npos);
  CHECK(message("input p1: prob as pred\ninput p2: prob as pred\ninput y1: binary as label\ninput y2: binary as label\n"
                "input z: real\n-log(p1) - log(p2) + y1 + y2 + z")
            .find("input 'z' has role 'other'") != std::string::npos);
}
