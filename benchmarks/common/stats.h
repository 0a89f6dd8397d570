// The statistics the benchmarks quote: the median (of an even count, the
// mean of the middle two).
#pragma once

#include <algorithm>
#include <vector>

namespace losscc::bench {

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace losscc::bench
