// Ranking metrics in both conventions against hand-computed lists,
// including the corner cases: a query without a relevant document, a list
// shorter than k, tied scores, NaN scores.
#include "tests/doctest_torch.h"

#include <cmath>
#include <vector>

#include "models/ltr/ltr_metrics.h"

using namespace losscc::models::ltr;
using doctest::Approx;

namespace {

// Query A: 4 documents; ranked by score the labels read 0, 2, 1, 0.
// Query B: 3 documents, none relevant.
// Query C: 2 documents with tied scores; file order puts the 0 first.
const std::vector<double> kScores = {0.9, 0.8, 0.7, 0.6, 1, 2, 3, 0.5, 0.5};
const std::vector<float> kLabels = {0, 2, 1, 0, 0, 0, 0, 0, 1};
const std::vector<int64_t> kOffsets = {0, 4, 7, 9};

const double l3 = std::log2(3.0), l5 = std::log2(5.0);

RankingMetrics run(Convention c, IdealZero z = IdealZero::Skip, std::vector<int> cutoffs = {1, 2, 3, 5, 10}) {
  RankingOptions o;
  o.convention = c;
  o.ideal_zero = z;
  o.cutoffs = cutoffs;
  return evaluate_ranking(kScores, kLabels, kOffsets, o);
}

}  // namespace

TEST_CASE("standard convention: gains 2^rel-1, 1/log2(r+1), k cut to the list, ideal-DCG-0 queries skipped") {
  // Query A: DCG@3 = 3/log2(3) + 1/2, ideal 3 + 1/log2(3); @2: 3/log2(3) vs 3 + 1/log2(3).
  const double a_ndcg2 = (3 / l3) / (3 + 1 / l3);
  const double a_ndcg3 = (3 / l3 + 0.5) / (3 + 1 / l3);
  // Query C: the relevant document second: DCG 1/log2(3), ideal 1.
  const double c_ndcg2 = 1 / l3;
  const RankingMetrics m = run(Convention::Standard);
  CHECK(m.queries == 3);
  CHECK(m.skipped == 1);
  CHECK(m.ndcg.at(1) == Approx(0.0));
  CHECK(m.ndcg.at(2) == Approx((a_ndcg2 + c_ndcg2) / 2));
  CHECK(m.ndcg.at(3) == Approx((a_ndcg3 + c_ndcg2) / 2));
  CHECK(m.ndcg.at(5) == Approx((a_ndcg3 + c_ndcg2) / 2));  // k cut to 4 and 2 documents
  CHECK(m.ndcg.at(10) == Approx((a_ndcg3 + c_ndcg2) / 2));
  CHECK(m.precision.at(1) == Approx(0.0));
  CHECK(m.precision.at(3) == Approx((2.0 / 3 + 1.0 / 2) / 2));  // C: 1 of min(3, 2)
  CHECK(m.precision.at(10) == Approx((2.0 / 4 + 1.0 / 2) / 2));
  CHECK(m.map == Approx(((1.0 / 2 + 2.0 / 3) / 2 + 1.0 / 2) / 2));
  CHECK(m.mrr == Approx((0.5 + 0.5) / 2));

  const RankingMetrics one = run(Convention::Standard, IdealZero::One);
  CHECK(one.skipped == 0);
  CHECK(one.ndcg.at(1) == Approx(1.0 / 3));  // B scores 1
  CHECK(one.ndcg.at(3) == Approx((a_ndcg3 + 1 + c_ndcg2) / 3));
  CHECK(one.map == Approx(((1.0 / 2 + 2.0 / 3) / 2 + 1 + 1.0 / 2) / 3));
  CHECK(one.mrr == Approx((0.5 + 1 + 0.5) / 3));
}

TEST_CASE("LETOR convention: gains 0/1/3, ranks 1-2 undiscounted, short lists and no-relevant queries score 0") {
  // Query A: DCG@3 = 0 + 3 + 1/log2(3), ideal 3 + 1 + 0.
  const double a_ndcg3 = (3 + 1 / l3) / 4;
  const double a_ndcg2 = 3.0 / 4;
  const RankingMetrics m = run(Convention::Letor);
  CHECK(m.queries == 3);
  CHECK(m.skipped == 0);
  CHECK(m.ndcg.at(1) == Approx(0.0));
  // C at k=2: the relevant document second is undiscounted → 1.
  CHECK(m.ndcg.at(2) == Approx((a_ndcg2 + 0 + 1) / 3));
  CHECK(m.ndcg.at(3) == Approx((a_ndcg3 + 0 + 0) / 3));  // C has 2 < 3 documents
  CHECK(m.ndcg.at(5) == Approx(0.0));                    // every list shorter than 5
  CHECK(m.ndcg.at(10) == Approx(0.0));
  CHECK(m.precision.at(2) == Approx((1.0 / 2 + 0 + 1.0 / 2) / 3));
  CHECK(m.precision.at(3) == Approx((2.0 / 3) / 3));
  CHECK(m.precision.at(5) == Approx(0.0));
  CHECK(m.map == Approx(((1.0 / 2 + 2.0 / 3) / 2 + 0 + 1.0 / 2) / 3));
  CHECK(m.mrr == Approx((0.5 + 0 + 0.5) / 3));
  CHECK(m.to_json()["convention"] == "letor");
  CHECK(m.to_json()["ndcg@3"].get<double>() == Approx(a_ndcg3 / 3));
}

TEST_CASE("LETOR discount at rank 5 and a perfect ranking of a long list") {
  // Six documents, the relevant ones at ranks 1 and 5 (labels 1 and 2).
  const std::vector<double> s = {6, 5, 4, 3, 2, 1};
  const std::vector<float> l = {1, 0, 0, 0, 2, 0};
  RankingOptions o;
  o.convention = Convention::Letor;
  o.cutoffs = {5};
  const RankingMetrics m = evaluate_ranking(s, l, {0, 6}, o);
  CHECK(m.ndcg.at(5) == Approx((1 + 3 / l5) / (3 + 1)));  // ideal 3, 1 at ranks 1, 2
  o.convention = Convention::Standard;
  const RankingMetrics st = evaluate_ranking(s, l, {0, 6}, o);
  CHECK(st.ndcg.at(5) == Approx((1 + 3 / std::log2(6.0)) / (3 + 1 / l3)));
  CHECK(st.map == Approx((1 + 2.0 / 5) / 2));
  // Sorting by label is perfect in both conventions.
  const std::vector<double> perfect = {1, 0, 0, 0, 2, 0};
  for (Convention c : {Convention::Standard, Convention::Letor}) {
    o.convention = c;
    o.cutoffs = {1, 3, 5};
    const RankingMetrics p = evaluate_ranking(perfect, l, {0, 6}, o);
    CHECK(p.ndcg.at(1) == Approx(1.0));
    CHECK(p.ndcg.at(5) == Approx(1.0));
    CHECK(p.map == Approx(1.0));
  }
}

TEST_CASE("ties keep file order; NaN scores rank last; query_ndcg") {
  // Tied scores: the earlier document ranks first either way round.
  CHECK(query_ndcg({1, 1}, {1, 0}, 1, Convention::Standard) == Approx(1.0));
  CHECK(query_ndcg({1, 1}, {0, 1}, 1, Convention::Standard) == Approx(0.0));
  CHECK(query_ndcg({NAN, 0}, {0, 1}, 1, Convention::Standard) == Approx(1.0));
  CHECK(query_ndcg({0, NAN}, {1, 0}, 1, Convention::Letor) == Approx(1.0));
  CHECK(std::isnan(query_ndcg({1, 2}, {0, 0}, 1, Convention::Standard)));
  CHECK(query_ndcg({1, 2}, {0, 0}, 1, Convention::Letor) == 0.0);
  CHECK(query_ndcg({3}, {2}, 10, Convention::Letor) == 0.0);
  CHECK(query_ndcg({3}, {2}, 10, Convention::Standard) == Approx(1.0));
}

TEST_CASE("evaluate_ranking rejects bad input") {
  CHECK_THROWS_AS(evaluate_ranking({1, 2}, {0}, {0, 1}), std::invalid_argument);
  CHECK_THROWS_AS(evaluate_ranking({1, 2}, {0, 1}, {0, 1}), std::invalid_argument);
  RankingOptions o;
  o.cutoffs = {0};
  CHECK_THROWS_AS(evaluate_ranking({1}, {1}, {0, 1}, o), std::invalid_argument);
  CHECK(convention_by_name("letor") == Convention::Letor);
  CHECK_FALSE(convention_by_name("official").has_value());
}
