#include "search/space/viable_tokens.h"

#include <doctest/doctest.h>

#include <random>

#include "compiler/passes/check.h"
#include "compiler/passes/probe_signature.h"
#include "compiler/passes/simplify.h"
#include "tests/search/space_tokens.h"

using namespace losscc;
using namespace losscc::search;
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
