#include "search/space/viable_tokens.h"

#include <doctest/doctest.h>

#include <random>

#include "compiler/passes/check.h"
#include "compiler/passes/probe_signature.h"
#include "compiler/passes/simplify.h"
#include "tests/search/space_tokens.h"

using namespace losscc;
using namespace losscc::search;
using losscc::search::testing::check_reachable;
using losscc::search::testing::op;

namespace {

// AutoLossGen's three losses as the basic space writes them (nodes 0 pred,
// 1 label, 2 one), their working nodes last, filler nodes first.
std::vector<Token> with_filler(const SearchSpace& space, std::vector<Token> body) {
  std::vector<Token> tokens;
  const int filler = space.layers() - static_cast<int>(body.size());
  // Distinct, finite filler nodes: 1+1, then each one plus 1 more.
  for (int k = 0; k < filler; ++k) tokens.push_back(op(space, "add", k == 0 ? 2 : 2 + k, 2));
  for (Token t : body) {
    auto shift = [&](int node) { return node < kNumLeaves ? node : node + filler; };
    t.lhs = shift(t.lhs);
    if (t.rhs >= 0) t.rhs = shift(t.rhs);
    tokens.push_back(t);
  }
  return tokens;
}

std::vector<std::vector<Token>> autolossgen_losses(const SearchSpace& s) {
  return {
      // LogMin: m = min(label, pred); log(1/m) · (m + label + pred).
      with_filler(s, {op(s, "min", 1, 0), op(s, "reciprocal", 3), op(s, "log", 4), op(s, "add", 3, 1),
                      op(s, "add", 6, 0), op(s, "mul", 5, 7)}),
      // MaxR: max(label/pred, pred/label).
      with_filler(s, {op(s, "reciprocal", 0), op(s, "reciprocal", 1), op(s, "mul", 1, 3), op(s, "mul", 0, 4),
                      op(s, "max", 5, 6)}),
      // SumR: (label + pred) / (pred · label).
      with_filler(s, {op(s, "add", 1, 0), op(s, "mul", 0, 1), op(s, "reciprocal", 4), op(s, "mul", 3, 5)}),
  };
}

}  // namespace

TEST_CASE("probe signatures follow the compiler: composed = evaluated, and the verdict = check()") {
  const SearchSpace space(10);
  ViableTokens viable(space);
  std::mt19937_64 rng(7);
  int agree = 0, total = 0;
  for (int sample = 0; sample < 200; ++sample) {
    const std::vector<Token> tokens = sample_uniform(space, rng);
    viable.reset();
    for (const Token& t : tokens) viable.push(t);
    const bool predicted = viable.last_node_passes();
    const bool checked = check(decode(space, tokens)).valid;
    agree += predicted == checked;
    ++total;
  }
  MESSAGE("signature verdict agrees with check() on " << agree << " of " << total << " random programs");
  CHECK(agree >= total * 97 / 100);
}

TEST_CASE("AutoLossGen's LogMin, MaxR and SumR are allowed at every step and pass the check") {
  const SearchSpace space(10);
  ViableTokens viable(space);
  for (const std::vector<Token>& tokens : autolossgen_losses(space)) {
    CAPTURE(format_tokens(space, tokens));
    REQUIRE(check(decode(space, tokens)).valid);
    viable.reset();
    for (const Token& t : tokens) {
      CHECK(viable.allows(t));
      viable.push(t);
    }
  }
}

TEST_CASE("masked uniform sampling: most samples pass the check, and every mask leaves a choice") {
  const SearchSpace space(10);
  ViableTokens viable(space);
  std::mt19937_64 rng(11);
  int valid = 0;
  const int samples = 300;
  for (int s = 0; s < samples; ++s) {
    const std::vector<Token> tokens = sample_viable(viable, space, rng);
    REQUIRE(validation_error(space, tokens).empty());
    valid += check(decode(space, tokens)).valid;
  }
  MESSAGE(valid << " of " << samples << " masked samples pass the check; dead ends " << viable.dead_ends());
  CHECK(valid >= samples / 2);
}

// ---- the ranking space's masks (list signatures) ------------------------------

TEST_CASE("ranking: the list signatures' verdict agrees with check() on random programs") {
  const SearchSpace space(6, false, true);
  ViableTokens judge(space);
  std::mt19937_64 rng(5);
  int agree = 0, passing = 0;
  const int samples = 200;
  for (int s = 0; s < samples; ++s) {
    const std::vector<Token> tokens = sample_uniform(space, rng);
    judge.reset();
    for (const Token& t : tokens) judge.push(t);
    const bool checked = check(simplify(decode(space, tokens))).valid;
    agree += judge.last_node_passes() == checked;
    passing += checked;
  }
  MESSAGE("ranking: verdicts agree on " << agree << " of " << samples << " random programs (" << passing
                                        << " pass check())");
  CHECK(agree >= samples * 95 / 100);
}

TEST_CASE("ranking: masked sampling gives mostly valid losses (unmasked: about 7 %)") {
  const SearchSpace space(6, false, true);
  ViableTokens viable(space);
  std::mt19937_64 rng(13);
  int valid = 0;
  const int samples = 120;
  for (int s = 0; s < samples; ++s) {
    const std::vector<Token> tokens = sample_viable(viable, space, rng);
    REQUIRE(validation_error(space, tokens).empty());
    valid += check(simplify(decode(space, tokens))).valid;
  }
  MESSAGE("ranking: " << valid << " of " << samples << " masked samples pass the check; dead ends "
                      << viable.dead_ends());
  CHECK(valid >= samples * 6 / 10);
}

namespace {

// The token programs of ranking_search_test.cpp (LambdaLoss with mu = 2 in
// 6 layers, with allRank's mu = 10 in 10), filled to the space's layers.
std::vector<std::vector<Token>> strong_ranking_losses(const SearchSpace& s) {
  std::vector<std::vector<Token>> losses = {
      with_filler(s, {op(s, "softmax", 1), op(s, "lse", 0), op(s, "neg", 4), op(s, "add", 0, 5), op(s, "mul", 3, 6),
                      op(s, "neg", 7)}),
      with_filler(s, {op(s, "suffix_lse", 0), op(s, "neg", 0), op(s, "add", 3, 4)}),
      with_filler(s, {op(s, "pair_logistic", 0)}),
      with_filler(s, {op(s, "rank", 0), op(s, "discount", 3), op(s, "pair_lambda", 0, 4)}),
      with_filler(s, {op(s, "smooth_rank", 0), op(s, "ndcg_weight", 3), op(s, "neg", 4)}),
      with_filler(s, {op(s, "rank", 0), op(s, "discount", 3), op(s, "pair_lambda", 0, 4),
                      op(s, "pair_lambda_gap", 0, 3), op(s, "add", 6, 6), op(s, "add", 7, 5)}),
  };
  if (s.layers() >= 10)
    losses.push_back(with_filler(
        s, {op(s, "rank", 0), op(s, "discount", 3), op(s, "pair_lambda", 0, 4), op(s, "pair_lambda_gap", 0, 3),
            op(s, "add", 2, 2), op(s, "add", 7, 7), op(s, "add", 8, 8), op(s, "add", 9, 7), op(s, "mul", 10, 6),
            op(s, "add", 11, 5)}));
  return losses;
}

}  // namespace

TEST_CASE("ranking: the masks keep ListNet, ListMLE, RankNet, LambdaRank, ApproxNDCG and LambdaLoss reachable") {
  for (const int layers : {6, 10}) {
    const SearchSpace s(layers, false, true);
    check_reachable(s, strong_ranking_losses(s));
  }
}

TEST_CASE("ranking: the masks keep RankNet and a ListNet-style loss reachable") {
  const SearchSpace s(6, false, true);
  // Nodes 0 score, 1 label, 2 one; two filler nodes, then the loss.
  const std::vector<std::vector<Token>> losses = {
      // RankNet: Σ over pairs with label_i > label_j of log(1 + exp(s_j - s_i)).
      {op(s, "square", 0), op(s, "add", 3, 2), op(s, "gain", 1), op(s, "qmean", 4), op(s, "add", 6, 5),
       op(s, "pair_logistic", 0)},
      // Softmax cross-entropy weighted by label gains: -gain(label) · log softmax(score).
      {op(s, "square", 0), op(s, "gain", 1), op(s, "softmax", 0), op(s, "log", 5), op(s, "mul", 6, 4),
       op(s, "neg", 7)},
  };
  check_reachable(s, losses);
}
