// The statistics the benchmarks quote: the mean, the median (of an even
// count, the mean of the middle two), and the correlations the reward
// studies report.
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "search/paired.h"  // average_ranks

namespace losscc::bench {

// NaN for no values, and when any value is NaN.
inline double mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

inline double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

// Pearson's correlation of the average ranks (ties share their mean rank).
inline double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  return pearson(search::average_ranks(x), search::average_ranks(y));
}

}  // namespace losscc::bench
