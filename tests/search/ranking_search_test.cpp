// The ranking search space and a ranking search: token programs decode to
// ranking losses (RankNet and ListNet among them, equal to the examples on
// random lists), random programs never break the level rules, and a ranking
// search with its own trainer writes the usual outputs (the ranking masks are
// tested in viable_tokens_test.cpp).
#include "tests/doctest_torch.h"

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compiler/interp/segmented.h"
#include "compiler/language/parse.h"
#include "compiler/passes/build_program.h"
#include "compiler/passes/check.h"
#include "compiler/passes/simplify.h"
#include "search/rank_task.h"
#include "search/search.h"
#include "tests/compiler/ranking_lists.h"

using namespace losscc;
using namespace losscc::search;
namespace fs = std::filesystem;

namespace {

Token t(const SearchSpace& space, const char* op, int lhs, int rhs = -1) {
  REQUIRE(space.op_index(op) >= 0);
  return {space.op_index(op), lhs, rhs};
}

// Loss and score gradient of `fn` on random lists (the interpreter).
ProgramResult run_on_lists(const LossFunction& fn, const losscc::testing::Lists& lists) {
  return run_grouped_program(build_program(fn, {0}), std::vector<const double*>{lists.score.data(), lists.label.data()},
                             lists.offsets.data(), lists.queries());
}

// a equals scale · b in value and score gradient on random lists.
void same_loss(const LossFunction& a, const LossFunction& b, double scale = 1.0, double tol = 1e-9) {
  const losscc::testing::Lists lists = losscc::testing::random_lists(3, 30);
  const ProgramResult x = run_on_lists(a, lists), y = run_on_lists(b, lists);
  CHECK(x.loss == doctest::Approx(scale * y.loss).epsilon(tol));
  REQUIRE(x.grads[0].size() == y.grads[0].size());
  for (size_t i = 0; i < x.grads[0].size(); ++i)
    CHECK(x.grads[0][i] == doctest::Approx(scale * y.grads[0][i]).epsilon(tol).scale(1e-6));
}

LossFunction example(const std::string& name) {
  return parse_loss_file(std::string(LOSSCC_SOURCE_DIR "/examples/") + name + ".loss");
}

}  // namespace

TEST_CASE("ranking space: RankNet and ListNet as token programs") {
  const SearchSpace one(1, false, true);
  CHECK(one.ranking());
  CHECK(one.leaf_name(0) == "score");
  const LossFunction ranknet = decode(one, {t(one, "pair_logistic", 0)});
  CHECK(ranknet.grouped());
  CHECK(ranknet.inputs[0].name == "score");
  CHECK(ranknet.inputs[0].role == Role::Prediction);
  CHECK(ranknet.inputs[1].domain == Domain::Grade);
  same_loss(ranknet, example("ranknet"));
  CHECK(check(ranknet).valid);

  // ListNet: -qsum(softmax(label) * (score - lse(score))).
  const SearchSpace six(6, false, true);
  const LossFunction listnet = decode(six, {t(six, "softmax", 1), t(six, "lse", 0), t(six, "neg", 4),
                                            t(six, "add", 0, 5), t(six, "mul", 3, 6), t(six, "neg", 7)});
  same_loss(listnet, example("listnet"));
  CHECK(check(simplify(listnet)).valid);
  // The pointwise space has none of the ranking operators.
  CHECK(SearchSpace(6).op_index("pair_logistic") == -1);
  CHECK(SearchSpace(6, true, true).op_index("exp") >= 0);
}

TEST_CASE("ranking space: ListMLE, LambdaRank, ApproxNDCG and LambdaLoss as token programs") {
  const SearchSpace s3(3, false, true);
  const LossFunction listmle = decode(s3, {t(s3, "suffix_lse", 0), t(s3, "neg", 0), t(s3, "add", 3, 4)});
  same_loss(listmle, example("listmle"));
  CHECK(check(simplify(listmle)).valid);

  const LossFunction lambdarank = decode(s3, {t(s3, "rank", 0), t(s3, "discount", 3), t(s3, "pair_lambda", 0, 4)});
  same_loss(lambdarank, example("lambdarank"));
  CHECK(check(simplify(lambdarank)).valid);

  const LossFunction approx_ndcg =
      decode(s3, {t(s3, "smooth_rank", 0), t(s3, "ndcg_weight", 3), t(s3, "neg", 4)});
  same_loss(approx_ndcg, example("approx_ndcg"));
  CHECK(check(simplify(approx_ndcg)).valid);
  // The same from the primitives; the space's reciprocal is guarded
  // (1 / (IDCG + 1e-6) for the example's 1 / max(IDCG, 1e-10)).
  const SearchSpace s8(8, false, true);
  const LossFunction approx_ndcg_long =
      decode(s8, {t(s8, "smooth_rank", 0), t(s8, "discount", 3), t(s8, "gain", 1), t(s8, "mul", 4, 5),
                  t(s8, "idcg", 1), t(s8, "reciprocal", 7), t(s8, "mul", 6, 8), t(s8, "neg", 9)});
  same_loss(approx_ndcg_long, example("approx_ndcg"), 1.0, 1e-5);

  // (mu · the rank-gap term + LambdaRank's term), mu = 10 = ((1 + 1) · 2 · 2) + 2:
  // the example divides by ln 2, a scale the space cannot build exactly.
  const SearchSpace s10(10, false, true);
  const LossFunction lambdaloss =
      decode(s10, {t(s10, "rank", 0), t(s10, "discount", 3), t(s10, "pair_lambda", 0, 4),
                   t(s10, "pair_lambda_gap", 0, 3), t(s10, "add", 2, 2), t(s10, "add", 7, 7), t(s10, "add", 8, 8),
                   t(s10, "add", 9, 7), t(s10, "mul", 10, 6), t(s10, "add", 11, 5)});
  same_loss(lambdaloss, example("lambdaloss"), std::log(2.0));
  CHECK(check(simplify(lambdaloss)).valid);
  // With mu = 2 in the rank search's default 6 layers.
  const SearchSpace s6(6, false, true);
  const LossFunction mu2 = decode(s6, {t(s6, "rank", 0), t(s6, "discount", 3), t(s6, "pair_lambda", 0, 4),
                                       t(s6, "pair_lambda_gap", 0, 3), t(s6, "add", 6, 6), t(s6, "add", 7, 5)});
  same_loss(mu2, parse_loss_file(std::string(LOSSCC_SOURCE_DIR "/examples/lambdaloss.loss"), {{"mu", 2.0}}),
            std::log(2.0));
}

TEST_CASE("ranking space: random programs decode to ranking losses without level errors") {
  const SearchSpace space(8, true, true);
  std::mt19937_64 rng(17);
  int valid = 0;
  for (int i = 0; i < 300; ++i) {
    const std::vector<Token> tokens = sample_uniform(space, rng);
    LossFunction fn;
    REQUIRE_NOTHROW(fn = decode(space, tokens));
    CHECK(fn.grouped());
    valid += check(simplify(fn)).valid;
  }
  MESSAGE("valid ranking losses among 300 random programs: " << valid);
}

TEST_CASE("a search in the ranking space writes candidates.jsonl and best.loss") {
  const fs::path dir = fs::temp_directory_path() / "losscc-search-test-ranking";
  fs::remove_all(dir);
  SearchConfig config;
  config.searcher = "random";
  config.layers = 3;
  config.workers = 1;
  config.budget_candidates = 60;
  config.progress_seconds = 0;
  config.out_dir = dir.string();
  int trainings = 0;
  // A ranking task of the caller's, whose reward counts its fits.
  class Lists : public FunctionTask {
   public:
    using FunctionTask::FunctionTask;
    std::string reward_name() const override { return "validation NDCG@10"; }
  } task("lists", [&](const LossFunction& fn) {
    ++trainings;
    CHECK(fn.grouped());
    return TrainOutcome{0.5 + 0.001 * trainings, 0, 0};
  }, true);
  REQUIRE(config.policy.mask);  // sampled under the list signatures' masks
  LossSearch search(config, task);
  search.start(false);
  std::atomic<bool> stop{false};
  CHECK(search.run(stop) == LossSearch::Stop::Budget);
  CHECK(search.counters().candidates == 60);
  CHECK(trainings > 0);
  std::ifstream best(dir / "best.loss");
  std::string first;
  std::getline(best, first);
  CHECK(first.find("validation NDCG@10") != std::string::npos);
  CHECK(parse_loss_file((dir / "best.loss").string()).grouped());
  fs::remove_all(dir);
}

TEST_CASE("the held-out reward: rank fits train and validate on training queries only") {
  const models::ltr::LtrDataset data = models::ltr::synthetic_ltr();
  RankTaskConfig config;
  config.model = "linear";
  config.reward_epochs = 2;
  config.reward_patience = 1;
  config.reward_holdout = 0.25;
  const RankTask task(data, config);
  const models::ltr::LtrDataset& inner = task.reward_data();
  CHECK(inner.valid.queries() == 30);  // a quarter of the 120 training queries
  CHECK(inner.train.queries() + inner.valid.queries() == data.train.queries());
  CHECK(inner.test.qids == inner.valid.qids);  // the reward never reads the fold's test queries
  std::set<std::string> kept(inner.train.qids.begin(), inner.train.qids.end());
  const std::set<std::string> training(data.train.qids.begin(), data.train.qids.end());
  for (const std::string& q : inner.valid.qids) {
    CHECK(training.count(q) == 1);
    CHECK(kept.count(q) == 0);
  }
  const LossFunction ranknet = parse_loss_file(std::string(LOSSCC_SOURCE_DIR) + "/examples/ranknet.loss");
  const double by_hand = fit_ranker(inner, config, ranknet, 2, 1, config.train.seed).valid.standard.ndcg.at(10);
  CHECK(task.reward(ranknet, WorkItem{}).reward == by_hand);
  // The checkpoint's identity tells a held-out search from a plain one; a plain one keeps its identity.
  RankTaskConfig plain = config;
  plain.reward_holdout = 0;
  CHECK(task.reward_name() == "NDCG@10 on held-out training queries");
  CHECK(task.identity().at("reward_holdout") == 0.25);
  CHECK_FALSE(RankTask(data, plain).identity().contains("reward_holdout"));
  CHECK(&RankTask(data, plain).reward_data() == &data);  // a plain task fits on the fold itself
  RankTaskConfig none_left = config;
  none_left.reward_holdout = 0.999;
  CHECK_THROWS_AS(RankTask(data, none_left), std::invalid_argument);
}
