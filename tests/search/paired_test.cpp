#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "search/paired.h"

using namespace losscc::search;

namespace {

// The two-sided p by enumerating every sign assignment of the ranks: the
// reference the dynamic programme must equal (ties and zeros included).
double brute_force_p(const std::vector<double>& d) {
  std::vector<double> x;
  for (double v : d)
    if (v != 0) x.push_back(v);
  const size_t n = x.size();
  if (n == 0) return 1;
  std::vector<double> rank(n);
  for (size_t i = 0; i < n; ++i) {
    double below = 0, equal = 0;
    for (size_t j = 0; j < n; ++j) {
      below += std::fabs(x[j]) < std::fabs(x[i]);
      equal += std::fabs(x[j]) == std::fabs(x[i]);
    }
    rank[i] = below + (equal + 1) / 2;
  }
  double total = 0, observed = 0;
  for (size_t i = 0; i < n; ++i) total += rank[i], observed += x[i] > 0 ? rank[i] : 0;
  const double low = std::min(observed, total - observed);
  double count = 0;
  for (uint64_t signs = 0; signs < (uint64_t{1} << n); ++signs) {
    double w = 0;
    for (size_t i = 0; i < n; ++i)
      if (signs >> i & 1) w += rank[i];
    count += w <= low + 1e-9;
  }
  return std::min(1.0, 2 * count / static_cast<double>(uint64_t{1} << n));
}

}  // namespace

TEST_CASE("the Wilcoxon p is the exact sign-flip distribution, ties and zeros included") {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> size(1, 12), value(-4, 6);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<double> d(static_cast<size_t>(size(rng)));
    for (double& v : d) v = value(rng) * 0.25;  // a coarse grid: many ties and zeros
    CAPTURE(trial);
    CHECK(wilcoxon_signed_rank_p(d) == doctest::Approx(brute_force_p(d)).epsilon(1e-12));
  }
  // n pairs all one way: the smallest two-sided p, 2 / 2^n.
  CHECK(wilcoxon_signed_rank_p({0.1, 0.2, 0.3}) == doctest::Approx(0.25));
  CHECK(wilcoxon_signed_rank_p({0.1, 0.2, 0.3, 0.4, 0.5}) == doctest::Approx(0.0625));
  CHECK(wilcoxon_signed_rank_p({0, 0, 0}) == 1.0);
}

TEST_CASE("the Wilcoxon p of many pairs: the normal approximation tells a shift from noise") {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> shifted(1000), centred(1000);
  for (size_t i = 0; i < shifted.size(); ++i) shifted[i] = 0.3 + noise(rng), centred[i] = noise(rng);
  CHECK(wilcoxon_signed_rank_p(shifted) < 1e-10);
  CHECK(wilcoxon_signed_rank_p(centred) > 0.01);
}

TEST_CASE("a paired comparison: the mean difference, a bootstrap interval around it, seeded") {
  const std::vector<double> a = {0.71, 0.73, 0.70, 0.74, 0.72}, b = {0.70, 0.71, 0.70, 0.71, 0.70};
  const PairedComparison c = compare_paired(a, b);
  CHECK(c.n == 5);
  CHECK(c.mean_diff == doctest::Approx(0.016));
  CHECK(c.ci_low <= c.mean_diff);
  CHECK(c.ci_high >= c.mean_diff);
  CHECK(c.ci_low >= 0.0);  // every difference is ≥ 0
  CHECK(c.ci_high <= 0.03 + 1e-12);  // the largest difference
  CHECK(c.wilcoxon_p == doctest::Approx(wilcoxon_signed_rank_p({0.01, 0.02, 0.0, 0.03, 0.02})));
  const PairedComparison again = compare_paired(a, b);
  CHECK(again.ci_low == c.ci_low);
  CHECK(again.ci_high == c.ci_high);
  const PairedComparison constant = compare_paired({1, 2, 3}, {0.5, 1.5, 2.5});
  CHECK(constant.ci_low == doctest::Approx(0.5));
  CHECK(constant.ci_high == doctest::Approx(0.5));
  CHECK_THROWS_AS(compare_paired({1}, {1, 2}), std::invalid_argument);
  CHECK_THROWS_AS(compare_paired({}, {}), std::invalid_argument);
}
