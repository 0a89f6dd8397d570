// The Hessian's diagonal (compiler/passes/hessian.h) against central finite
// differences of the compiled gradient, in the interpreter: the classic
// elementwise losses at many points, and every ranking example on random
// lists, one document's score moved at a time. Points where the gradient is
// not smooth (a hard rank changes, a kink) are skipped by the same test the
// gradient's own finite-difference test uses: the step halved must agree.
#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <random>
#include <string>

#include "classic_losses.h"
#include "compiler/codegen/cuda/emit_cuda.h"
#include "compiler/interp/interp.h"
#include "compiler/interp/segmented.h"
#include "compiler/language/parse.h"
#include "compiler/passes/build_program.h"
#include "compiler/passes/grad.h"
#include "compiler/passes/hessian.h"
#include "ranking_lists.h"

using namespace losscc;

namespace {

// The central difference of f at h and h/2, or nullopt where they disagree
// (f is not smooth there) or are not finite.
template <typename F>
std::optional<double> central_difference(F f, double h) {
  const double a = (f(h) - f(-h)) / (2 * h), b = (f(h / 2) - f(-h / 2)) / h;
  if (!std::isfinite(a) || !std::isfinite(b)) return std::nullopt;
  if (std::fabs(a - b) > 1e-4 * std::max(1.0, std::fabs(b))) return std::nullopt;
  return b;
}

bool close(double got, double want, double tol) { return std::fabs(got - want) <= tol * std::max(1.0, std::fabs(want)); }

const char* const kRankingExamples[] = {"rank_mse", "ranknet", "rank_hinge", "lambdarank",
                                        "lambdaloss", "listnet", "listmle", "approx_ndcg"};

}  // namespace

TEST_CASE("hessian: the classic elementwise losses match finite differences of their gradient") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.02, 0.98);
  for (const auto& [name, fn] : testing::classic_losses()) {
    INFO(name);
    const Program p = build_program(fn, trained_inputs(fn), /*with_hessian=*/true);
    const size_t G = p.grad_inputs.size();
    REQUIRE(p.hessian);
    REQUIRE(p.stored_outputs() == 2 * G);
    REQUIRE(p.outputs.size() == 1 + 2 * G);
    std::vector<std::string> names;
    for (const InputDecl& d : p.fn.inputs) names.push_back(d.name);
    Evaluator ev(p.outputs, names);
    int checked = 0;
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<double> in(names.size());
      for (size_t j = 0; j < in.size(); ++j)
        in[j] = p.fn.inputs[j].role == Role::Label ? static_cast<double>(trial % 2) : unit(rng);
      std::vector<double> out(p.outputs.size());
      ev.run(in.data(), out.data());
      for (size_t k = 0; k < G; ++k) {
        const int x = p.grad_inputs[k];
        auto grad_at = [&](double dx) {
          std::vector<double> moved = in, o(p.outputs.size());
          moved[x] += dx;
          ev.run(moved.data(), o.data());
          return o[1 + k];
        };
        const std::optional<double> fd = central_difference(grad_at, 1e-5);
        if (!fd || !std::isfinite(out[1 + G + k])) continue;
        ++checked;
        INFO("input ", names[x], " = ", in[x]);
        CHECK(close(out[1 + G + k], *fd, 1e-4));
      }
    }
    CHECK(checked >= 100);
  }
}

namespace {

// A ranking program's Hessian diagonal against central differences of its
// gradient, one document's score moved at a time.
void check_ranking_hessian(const Program& p, const std::string& name, const testing::Lists& lists) {
  REQUIRE(p.stored_outputs() == 2);
  std::vector<double> score = lists.score;
  auto run = [&] {
    return run_grouped_program(p, std::vector<const double*>{score.data(), lists.label.data()},
                               lists.offsets.data(), lists.queries());
  };
  const ProgramResult at = run();
  int checked = 0, skipped = 0;
  for (int64_t i = 0; i < lists.size(); ++i) {
    auto grad_at = [&](double dx) {
      score[i] = lists.score[i] + dx;
      const double g = run().grads[0][i];
      score[i] = lists.score[i];
      return g;
    };
    const std::optional<double> fd = central_difference(grad_at, 1e-4);
    if (!fd) {
      ++skipped;
      continue;
    }
    ++checked;
    INFO("document ", i, " of ", lists.size());
    CHECK(close(at.grads[1][i], *fd, 1e-5));
  }
  MESSAGE(name, ": ", checked, " documents checked, ", skipped, " at a kink");
  CHECK(checked >= lists.size() * 3 / 4);
}

}  // namespace

TEST_CASE("hessian: every ranking example matches finite differences of its gradient, document by document") {
  const testing::Lists lists = testing::random_lists(11, 24, 10, 3);
  for (const char* name : kRankingExamples) {
    INFO(std::string(name));
    check_ranking_hessian(
        build_program(parse_loss_file(std::string(LOSSCC_SOURCE_DIR "/examples/") + name + ".loss"), {0}, true),
        name, lists);
  }
}

TEST_CASE("hessian: scans (prefix_sum, suffix_sum) match finite differences, through a shift and a sigmoid") {
  const testing::Lists lists = testing::random_lists(12, 24, 10, 3);
  const char* const bodies[] = {
      "qsum(qmax(score) + log(prefix_sum(label, exp(score - qmax(score)))) - score)",
      "qsum(sigmoid(suffix_sum(label, score * label)) * label)",
      "qsum(suffix_sum(label, score * score) * score) + qsum(prefix_sum(label, qmax(score)) * score)",
      "qsum(tanh(prefix_sum(label, exp(score - qmax(score)) * label) / qsum(exp(score - qmax(score)))))",
  };
  for (const char* body : bodies) {
    INFO(std::string(body));
    check_ranking_hessian(
        build_program(parse_loss(std::string("input score: real as pred\ninput label: grade\n") + body + "\n",
                                 "unit.loss"),
                      {0}, true),
        body, lists);
  }
  // A scan of a value that moves with every score through a pairsum or a
  // scan: its second derivative sums over triples.
  const Expr s = input("score"), l = input("label");
  for (const Expr& inner : {pairsum(constant(1.0), sigmoid(other(s) - s)), prefix_sum(l, s * l)}) {
    const Expr outer = sigmoid(suffix_sum(l, inner));
    const Expr grad = gradient(qsum(outer * l), {"score"})[0];
    CHECK_THROWS_WITH_AS(hessian_diagonal({grad}, {"score"}), doctest::Contains("sum over triples"),
                         std::invalid_argument);
  }
}

TEST_CASE("hessian: the diagonal, not a row sum") {
  // ListNet with one-hot targets: L = -log softmax(s)_t, whose Hessian is
  // diag(p) - p pᵀ, so the diagonal is p_i (1 - p_i) while every row sums to 0.
  const Program p = build_program(
      parse_loss_file(std::string(LOSSCC_SOURCE_DIR "/examples/listnet.loss")), {0}, true);
  const std::vector<double> s{0.3, -1.2, 2.0, 0.0}, l{0, 0, 1, 0};
  const int64_t offsets[] = {0, 4};
  const ProgramResult r = run_grouped_program(p, std::vector<const double*>{s.data(), l.data()}, offsets, 1);
  double z = 0;
  for (double v : s) z += std::exp(v);
  for (size_t i = 0; i < s.size(); ++i) {
    const double pi = std::exp(s[i]) / z;
    CHECK(r.grads[1][i] == doctest::Approx(pi * (1 - pi)).epsilon(1e-9));
  }
}

TEST_CASE("hessian: symbolic zeros and what is rejected") {
  Expr s = input("score"), l = input("label");
  // A gradient that does not depend on the score (a linear loss): Hessian 0.
  CHECK(hessian_diagonal({l}, {"score"})[0]->is_const(0.0));
  // Held-constant parts contribute nothing: d/ds of detach(s)·s is detach(s).
  const Expr h = hessian_diagonal({detach(s) * 2.0 + s}, {"score"})[0];
  CHECK(eval(h, {{"score", 3.0}}) == 1.0);
  // A pairsum whose term reads, through other(), a value that itself depends
  // on every document's score: its second derivative sums over triples.
  const Expr nested = pairsum(constant(1.0), other(pairsum(constant(1.0), sigmoid(other(s) - s))) * s);
  CHECK_THROWS_WITH_AS(hessian_diagonal({qsum(nested)}, {"score"}),
                       doctest::Contains("sum over triples"), std::invalid_argument);
  CHECK_THROWS_AS(hessian_diagonal({s, s}, {"score"}), std::invalid_argument);
}

TEST_CASE("hessian: the CUDA kernels store the diagonal after the gradients") {
  for (const char* name : {"bce", "listmle"}) {
    INFO(std::string(name));
    const LossFunction fn = parse_loss_file(std::string(LOSSCC_SOURCE_DIR "/examples/") + name + ".loss");
    const std::string with = cuda::emit_cuda(build_program(fn, trained_inputs(fn), true));
    const std::string without = cuda::emit_cuda(build_program(fn, trained_inputs(fn)));
    // One more output array (g1: the diagonal), and a different kernel name.
    CHECK(with.find("float* __restrict__ g1") != std::string::npos);
    CHECK(without.find("float* __restrict__ g1") == std::string::npos);
    CHECK(with.find("Hessian diagonals") != std::string::npos);
  }
}
