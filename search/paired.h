// Paired comparison of two methods measured on the same units (the same
// fold and seed: the same initialisation, batches and test queries), the
// statistics a "win" is stated with: the mean difference with a bootstrap
// percentile interval, and the two-sided Wilcoxon signed-rank p.
//
// Wilcoxon: differences of exactly 0 are dropped; |differences| are ranked
// with average ranks for ties; the p-value is exact, from the distribution of
// the positive rank sum over all 2^n sign assignments (computed by dynamic
// programming over the ranks, ties included), up to n = 400, and from the
// normal approximation with the tie correction above that.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace losscc::search {

struct PairedComparison {
  int n = 0;               // pairs
  double mean_diff = 0;    // mean of a − b
  double ci_low = 0, ci_high = 0;  // bootstrap percentile interval of the mean difference
  double confidence = 0.95;
  double wilcoxon_p = 1;   // two-sided; 1 when every difference is 0
  nlohmann::json to_json() const;
};

// a[i] and b[i] are one unit's measurements. Throws std::invalid_argument
// when the sizes differ or are 0. The bootstrap resamples the pairs
// `resamples` times from `seed`.
PairedComparison compare_paired(const std::vector<double>& a, const std::vector<double>& b,
                                double confidence = 0.95, int resamples = 10000, uint64_t seed = 1);

// The two-sided Wilcoxon signed-rank p of the differences d (zeros dropped).
double wilcoxon_signed_rank_p(const std::vector<double>& d);

// The 1-based ranks of `v`, ties given their average rank (Wilcoxon's and
// Spearman's ranks).
std::vector<double> average_ranks(const std::vector<double>& v);

}  // namespace losscc::search
