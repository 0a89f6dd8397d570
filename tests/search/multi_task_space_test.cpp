// The multi-task search space: token programs decode to whole multi-task
// losses (equal weighting, fixed weights, ESMM's chain and RMTL's
// closed-form weights equal to the examples at random points), the task
// signatures' verdict agrees with check(), masked sampling gives mostly
// valid losses, and the masks keep the four example programs reachable.
// With batch statistics, the loss-ratio program reads each task's batch mean
// and equals examples/mtl_loss_ratio.loss over random batches.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "compiler/interp/interp.h"
#include "compiler/language/parse.h"
#include "compiler/passes/build_program.h"
#include "compiler/passes/check.h"
#include "compiler/passes/probes.h"
#include "compiler/passes/simplify.h"
#include "search/space/viable_tokens.h"
#include "tests/search/space_tokens.h"

using namespace losscc;
using namespace losscc::search;
using losscc::search::testing::check_reachable;
using losscc::search::testing::op;

namespace {

// Leaves of a two-task space: p1 0, y1 1, bce1 2, detach(bce1) 3, p2 4, y2 5,
// bce2 6, detach(bce2) 7, the constant 1 at 8.
constexpr int kBce1 = 2, kHeld1 = 3, kP1 = 0, kBce2 = 6, kHeld2 = 7, kOne = 8;

// `body` (written with its first node at s.num_leaves()) after distinct filler
// nodes p1 + p1, 2·p1 + p1, ..., so that it ends the program.
std::vector<Token> with_filler(const SearchSpace& s, std::vector<Token> body) {
  const int filler = s.layers() - static_cast<int>(body.size());
  std::vector<Token> tokens;
  for (int k = 0; k < filler; ++k) tokens.push_back(op(s, "add", k == 0 ? kP1 : s.num_leaves() - 1 + k, kP1));
  for (Token t : body) {
    auto shift = [&](int node) { return node < s.num_leaves() ? node : node + filler; };
    t.lhs = shift(t.lhs);
    if (t.rhs >= 0) t.rhs = shift(t.rhs);
    tokens.push_back(t);
  }
  return tokens;
}

// The example programs as tokens (RMTL's with lambda = 1 and no cap, fixed
// weights 1 and 1/(2 + 1e-6), the space's guarded reciprocal of 1 + 1).
struct ExampleProgram {
  const char* example;
  std::vector<Token> body;
  std::vector<std::pair<std::string, double>> params;
};
std::vector<ExampleProgram> example_programs(const SearchSpace& s) {
  const int n = s.num_leaves();  // the body's first node
  return {
      {"mtl_equal", {op(s, "add", kBce1, kBce2)}, {}},
      {"mtl_chain", {op(s, "add", kOne, kP1), op(s, "mul", n, kBce2), op(s, "add", kBce1, n + 1)}, {}},
      {"mtl_fixed",
       {op(s, "add", kOne, kOne), op(s, "reciprocal", n), op(s, "mul", n + 1, kBce2), op(s, "add", kBce1, n + 2)},
       {{"w1", 1.0}, {"w2", 1.0 / (2.0 + kGuardEpsilon)}}},
      {"mtl_rmtl_closed_form",
       {op(s, "add", kOne, kHeld1), op(s, "mul", n, kBce1), op(s, "add", kOne, kHeld2), op(s, "mul", n + 2, kBce2),
        op(s, "add", n + 1, n + 3)},
       {{"lambda", 1.0}}},
  };
}

// The loss and its gradients by p1 and p2 at `x` (p1, y1, p2, y2).
std::vector<double> evaluate(const LossFunction& fn, const std::vector<double>& x) {
  Evaluator eval(build_program(fn, {0, 2}).outputs, {"p1", "y1", "p2", "y2"});
  std::vector<double> out(eval.num_outputs());
  eval.run(x.data(), out.data());
  return out;
}

}  // namespace

TEST_CASE("multi-task space: leaves, operators and the decoded inputs") {
  const SearchSpace s = SearchSpace::multi_task(2, 6);
  CHECK(s.tasks() == 2);
  CHECK(s.num_leaves() == 9);
  CHECK(s.leaf_name(kBce2) == "bce2");
  CHECK(s.leaf_name(kHeld1) == "detach(bce1)");
  CHECK(s.leaf_name(kOne) == "1");
  CHECK(s.inputs_available(2) == 11);
  CHECK(s.op_index("detach") == s.num_ops() - 1);
  const LossFunction fn = decode(s, with_filler(s, {op(s, "add", kBce1, kBce2)}));
  REQUIRE(fn.inputs.size() == 4);
  CHECK(fn.inputs[2].name == "p2");
  CHECK(fn.inputs[2].role == Role::Prediction);
  CHECK(fn.inputs[3].domain == Domain::Binary);
  CHECK_THROWS_AS(SearchSpace::multi_task(1), std::invalid_argument);
  // A node may read every leaf and every earlier node, no more.
  std::vector<Token> tokens = with_filler(s, {op(s, "add", kBce1, kBce2)});
  tokens[0].rhs = s.inputs_available(0);
  CHECK_THROWS_AS(decode(s, tokens), InvalidTokens);
}

TEST_CASE("multi-task space: the example programs as tokens equal the examples") {
  const SearchSpace s = SearchSpace::multi_task(2, 6);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> prob(0.02, 0.98);
  for (const ExampleProgram& p : example_programs(s)) {
    CAPTURE(std::string(p.example));
    const LossFunction tokens = decode(s, with_filler(s, p.body));
    const LossFunction file = parse_loss_file(std::string(LOSSCC_SOURCE_DIR "/examples/") + p.example + ".loss",
                                              {p.params.begin(), p.params.end()});
    for (int i = 0; i < 20; ++i) {
      const std::vector<double> x = {prob(rng), double(i % 2), prob(rng), double(i / 2 % 2)};
      const std::vector<double> a = evaluate(tokens, x), b = evaluate(file, x);
      for (size_t k = 0; k < a.size(); ++k) CHECK(a[k] == doctest::Approx(b[k]).epsilon(1e-6));
    }
  }
}

TEST_CASE("multi-task space: the task signatures' verdict agrees with check() on random programs") {
  const SearchSpace s = SearchSpace::multi_task(2, 6);
  ViableTokens judge(s), sampler(s);
  std::mt19937_64 rng(5);
  int agree = 0, passing = 0;
  const int samples = 200;
  for (int k = 0; k < samples; ++k) {
    // Half uniform (nearly all fail the check), half masked (nearly all pass).
    const std::vector<Token> tokens = k % 2 ? sample_uniform(s, rng) : sample_viable(sampler, s, rng);
    judge.reset();
    for (const Token& t : tokens) judge.push(t);
    const bool checked = check(decode(s, tokens)).valid;
    agree += judge.last_node_passes() == checked;
    passing += checked;
  }
  MESSAGE("multi-task: verdicts agree on " << agree << " of " << samples << " random programs (" << passing
                                           << " pass check())");
  CHECK(agree >= samples * 97 / 100);
  CHECK(passing >= samples / 4);
}

TEST_CASE("multi-task space: masked sampling gives mostly valid losses, and the examples stay reachable") {
  const SearchSpace s = SearchSpace::multi_task(2, 6);
  ViableTokens viable(s);
  std::mt19937_64 rng(13);
  int valid = 0, unmasked = 0;
  const int samples = 100;
  for (int k = 0; k < samples; ++k) {
    valid += check(decode(s, sample_viable(viable, s, rng))).valid;
    unmasked += check(decode(s, sample_uniform(s, rng))).valid;
  }
  MESSAGE("multi-task: " << valid << " of " << samples << " masked samples pass the check (unmasked " << unmasked
                         << "); dead ends " << viable.dead_ends());
  CHECK(valid >= samples * 6 / 10);
  CHECK(valid > unmasked);

  std::vector<std::vector<Token>> examples;
  for (const ExampleProgram& p : example_programs(s)) examples.push_back(with_filler(s, p.body));
  check_reachable(s, examples);
}

TEST_CASE("multi-task space with batch statistics: the loss-ratio program is reachable and equals its example") {
  const SearchSpace s = SearchSpace::multi_task(2, 6, false, true);
  const int mean1 = s.batch_mean_leaf(0), mean2 = s.batch_mean_leaf(1), n = s.num_leaves();
  CHECK(s.num_leaves() == 11);
  CHECK(s.constant_leaf() == kOne);
  CHECK(s.leaf_name(mean1) == "mean(bce1)");
  CHECK(s.leaf_name(mean2) == "mean(bce2)");
  CHECK_THROWS_AS(SearchSpace::multi_task(33, 6, false, true), std::invalid_argument);

  // A program that reads no batch mean stays a per-row loss.
  CHECK(!decode(s, with_filler(s, {op(s, "add", kBce1, kBce2)})).grouped());

  // bce1 · 1/mean(bce1) + bce2 · 1/mean(bce2): the space's guarded reciprocal.
  const std::vector<Token> ratio = with_filler(
      s, {op(s, "reciprocal", mean1), op(s, "mul", kBce1, n), op(s, "reciprocal", mean2), op(s, "mul", kBce2, n + 2),
          op(s, "add", n + 1, n + 3)});
  const LossFunction tokens = decode(s, ratio);
  REQUIRE(tokens.grouped());
  const LossFunction file = parse_loss_file(LOSSCC_SOURCE_DIR "/examples/mtl_loss_ratio.loss");
  probes::GroupProbe by_tokens(tokens, {0, 2}), by_file(file, {0, 2});
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> prob(0.02, 0.98);
  for (size_t rows : {1, 5, 64}) {
    probes::ProbeList batch(4, std::vector<double>(rows));
    for (size_t i = 0; i < rows; ++i) batch[0][i] = prob(rng), batch[1][i] = double(rng() % 2),
                                      batch[2][i] = prob(rng), batch[3][i] = double(rng() % 2);
    const auto a = by_tokens.at(batch);
    const auto b = by_file.at(batch);
    for (size_t o = 0; o < a.size(); ++o)
      for (size_t i = 0; i < a[o].size(); ++i) CHECK(a[o][i] == doctest::Approx(b[o][i]).epsilon(1e-5));
  }
  check_reachable(s, {ratio});

  // The space's other examples stay reachable beside the new leaves.
  std::vector<std::vector<Token>> examples;
  for (const ExampleProgram& p : example_programs(s)) examples.push_back(with_filler(s, p.body));
  check_reachable(s, examples);
}

TEST_CASE("multi-task space with batch statistics: masked sampling and the masks' verdict") {
  const SearchSpace s = SearchSpace::multi_task(2, 6, false, true);
  ViableTokens viable(s), judge(s);
  std::mt19937_64 rng(17);
  int valid = 0, reads_means = 0, agree = 0;
  const int samples = 100;
  for (int k = 0; k < samples; ++k) {
    const std::vector<Token> tokens = sample_viable(viable, s, rng);
    const LossFunction fn = decode(s, tokens);
    const bool checked = check(fn).valid;
    valid += checked;
    reads_means += fn.grouped();
    judge.reset();
    for (const Token& t : tokens) judge.push(t);
    agree += judge.last_node_passes() == checked;
  }
  MESSAGE("batch statistics: " << valid << " of " << samples << " masked samples pass the check, " << reads_means
                               << " read a batch mean; the masks' verdict agrees on " << agree);
  CHECK(valid >= samples * 6 / 10);
  CHECK(reads_means > 0);
  CHECK(agree >= samples * 9 / 10);
}
