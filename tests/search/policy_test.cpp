#include "search/policy.h"
#include "search/reinforce.h"

#include <ATen/core/grad_mode.h>
#include "tests/doctest_torch.h"

#include <cmath>

using namespace losscc::search;

TEST_CASE("the policy samples valid programs and scores them as probabilities") {
  SearchSpace space(6, true);
  LossPolicy policy(space);
  std::mt19937_64 rng(3);
  double total_probability = 0;
  for (int i = 0; i < 50; ++i) {
    std::vector<Token> tokens = policy->sample(rng);
    REQUIRE(validation_error(space, tokens).empty());
    LossPolicyImpl::Score s = policy->score(tokens);
    const double lp = s.log_prob.item<double>();
    CHECK(lp < 0);
    CHECK(std::isfinite(lp));
    CHECK(s.entropy.item<double>() > 0);
    total_probability += std::exp(lp);
  }
  CHECK(total_probability < 1.0);
  CHECK_THROWS_AS(policy->score({{0, 0, 1}}), InvalidTokens);
}

TEST_CASE("sampling is reproducible from the RNG state") {
  SearchSpace space(5);
  LossPolicy policy(space);
  std::mt19937_64 a(11), b(11);
  for (int i = 0; i < 5; ++i) CHECK(policy->sample(a) == policy->sample(b));
}

TEST_CASE("logits are squashed: no decision is ever near-certain at initialisation") {
  // With c = 1.5 a choice among k options has probability at most
  // e^1.5 / (e^1.5 + (k-1)·e^-1.5); over 9 operators that is < 0.72.
  SearchSpace space(1);
  LossPolicy policy(space);
  for (int op = 0; op < space.num_ops(); ++op) {
    Token t{op, 0, space.ops()[op].arity == 2 ? 1 : -1};
    CHECK(policy->score({t}).log_prob.item<double>() < std::log(0.72));
  }
}

TEST_CASE("REINFORCE moves the policy toward rewarded programs") {
  // Reward: the share of nodes that use `square`. After some updates the
  // policy should pick it far more often than uniformly (1/9). Unmasked:
  // the masks would forbid most squares (repeats, invalid last nodes).
  SearchSpace space(4);
  const int square = space.op_index("square");
  ReinforceConfig config;
  config.learning_rate = 0.05;
  config.num_aggregate = 8;
  config.baseline_decay = 0.9;
  config.skip_lim = 10;  // no filtering in this test
  PolicyConfig unmasked;
  unmasked.mask = false;
  Reinforce reinforce(LossPolicy(space, unmasked), config);
  std::mt19937_64 rng(5);
  auto share = [&](const std::vector<Token>& tokens) {
    int n = 0;
    for (const Token& t : tokens) n += t.op == square;
    return n / double(tokens.size());
  };
  for (int i = 0; i < 400; ++i) {
    std::vector<Token> tokens = reinforce.policy()->sample(rng);
    reinforce.observe(tokens, share(tokens));
  }
  CHECK(reinforce.updates() == 50);
  double mean = 0;
  for (int i = 0; i < 200; ++i) mean += share(reinforce.policy()->sample(rng)) / 200;
  CHECK(mean > 0.4);

  SUBCASE("risk-seeking: learning from the top quarter of each window does it too") {
    config.risk_seeking = 0.25;
    Reinforce risky(LossPolicy(space, unmasked), config);
    for (int i = 0; i < 400; ++i) {
      std::vector<Token> tokens = risky.policy()->sample(rng);
      risky.observe(tokens, share(tokens));
    }
    double risky_mean = 0;
    for (int i = 0; i < 200; ++i) risky_mean += share(risky.policy()->sample(rng)) / 200;
    CHECK(risky_mean > 0.3);
  }
}

TEST_CASE("reward filtering: low rewards become the minimum and leave the baseline alone") {
  SearchSpace space(2);
  ReinforceConfig config;
  config.num_aggregate = 100;
  config.skip_lim = 0.05;
  config.min_reward = 0.5;  // explicit: the default is 0
  Reinforce reinforce(LossPolicy(space), config);
  std::mt19937_64 rng(1);
  auto tokens = reinforce.policy()->sample(rng);

  auto first = reinforce.observe(tokens, 0.80);
  CHECK_FALSE(first.filtered);
  CHECK(*reinforce.baseline() == doctest::Approx(0.80));  // the first reward is the baseline

  auto low = reinforce.observe(tokens, 0.70);  // 0.70 < 0.80 − 0.05
  CHECK(low.filtered);
  CHECK(low.reward == 0.5);
  CHECK(*reinforce.baseline() == doctest::Approx(0.80));

  auto rejected = reinforce.observe(tokens, std::nullopt);
  CHECK(rejected.reward == 0.5);
  CHECK(*reinforce.baseline() == doctest::Approx(0.80));

  auto good = reinforce.observe(tokens, 0.90);
  CHECK_FALSE(good.filtered);
  CHECK(*reinforce.baseline() == doctest::Approx(0.99 * 0.80 + 0.01 * 0.90));
}

TEST_CASE("state() and restore() carry the baseline and the pending window") {
  SearchSpace space(3);
  ReinforceConfig config;
  config.num_aggregate = 5;
  Reinforce a(LossPolicy(space), config), b(LossPolicy(space), config);
  std::mt19937_64 rng(2);
  for (int i = 0; i < 7; ++i) a.observe(a.policy()->sample(rng), 0.7 + 0.01 * i);
  b.restore(a.state());
  CHECK(b.pending() == 2);
  CHECK(b.updates() == 1);
  CHECK(*b.baseline() == doctest::Approx(*a.baseline()));
  CHECK(b.state() == a.state());
}

TEST_CASE("the masked policy draws only allowed tokens and scores the masked distribution") {
  SearchSpace space(10);
  at::manual_seed(1);
  LossPolicy policy(space);  // masking is the default
  PolicyConfig unmasked;
  unmasked.mask = false;
  at::manual_seed(1);
  LossPolicy plain(space, unmasked);  // the same parameters
  ViableTokens viable(space);
  std::mt19937_64 rng(17);
  for (int i = 0; i < 10; ++i) {
    const std::vector<Token> tokens = policy->sample(rng);
    viable.reset();
    for (const Token& t : tokens) {
      CHECK(viable.allows(t));
      viable.push(t);
    }
    const LossPolicyImpl::Score s = policy->score(tokens);
    CHECK(std::isfinite(s.log_prob.item<double>()));
    CHECK(std::isfinite(s.entropy.item<double>()));
    // Masking renormalises over fewer choices: the same sequence is more
    // likely under the masks than with every token allowed.
    CHECK(s.log_prob.item<double>() > plain->score(tokens).log_prob.item<double>());
  }
  // A sampled sequence with its loss node replaced by square(pred), which
  // fails the check: probability 0 under the masks.
  std::vector<Token> forbidden = policy->sample(rng);
  forbidden.back() = {space.op_index("square"), 0, -1};
  viable.reset();
  for (size_t k = 0; k + 1 < forbidden.size(); ++k) viable.push(forbidden[k]);
  REQUIRE_FALSE(viable.allows(forbidden.back()));
  const double lp = policy->score(forbidden).log_prob.item<double>();
  CAPTURE(lp);
  CHECK(std::isinf(lp));
}

TEST_CASE("REINFORCE under masks keeps the policy finite and its samples allowed") {
  SearchSpace space(6);
  ReinforceConfig config;
  config.num_aggregate = 4;
  config.entropy_weight = 0.03;  // the entropy's gradient must not be NaN at masked choices
  Reinforce reinforce(LossPolicy(space), config);
  std::mt19937_64 rng(23);
  for (int i = 0; i < 12; ++i) {
    const std::vector<Token> tokens = reinforce.policy()->sample(rng);
    reinforce.observe(tokens, i % 3 == 0 ? std::optional<double>() : std::optional<double>(0.6 + 0.01 * i));
  }
  REQUIRE(reinforce.updates() == 3);
  for (const at::Tensor& p : reinforce.policy()->parameters()) CHECK(at::isfinite(p).all().item<bool>());
  ViableTokens viable(space);
  const std::vector<Token> tokens = reinforce.policy()->sample(rng);
  viable.reset();
  for (const Token& t : tokens) {
    CHECK(viable.allows(t));
    viable.push(t);
  }
}
