#include "search/paired.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

namespace losscc::search {

namespace {

constexpr size_t kExactLimit = 400;  // pairs up to which the p-value is exact

}  // namespace

std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return v[i] < v[j]; });
  std::vector<double> ranks(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = 0.5 * static_cast<double>(i + j) + 1;
    i = j + 1;
  }
  return ranks;
}

nlohmann::json PairedComparison::to_json() const {
  return {{"n", n}, {"mean_diff", mean_diff}, {"ci", {ci_low, ci_high}}, {"confidence", confidence},
          {"wilcoxon_p", wilcoxon_p}};
}

double wilcoxon_signed_rank_p(const std::vector<double>& d) {
  std::vector<double> nonzero, magnitude;
  for (double x : d)
    if (x != 0) nonzero.push_back(x), magnitude.push_back(std::fabs(x));
  const size_t n = nonzero.size();
  if (n == 0) return 1.0;
  const std::vector<double> ranks = average_ranks(magnitude);
  // Doubled ranks are integers (average ranks are multiples of 1/2).
  std::vector<int64_t> doubled(n);
  int64_t total = 0, observed = 0;
  for (size_t i = 0; i < n; ++i) {
    doubled[i] = std::llround(2 * ranks[i]);
    total += doubled[i];
    if (nonzero[i] > 0) observed += doubled[i];
  }
  const int64_t low = std::min(observed, total - observed);
  if (n <= kExactLimit) {
    // P(W+ = w) over the 2^n equally likely sign assignments, in doubled units.
    std::vector<long double> p(static_cast<size_t>(total) + 1, 0.0L);
    p[0] = 1.0L;
    int64_t reach = 0;
    for (int64_t r : doubled) {
      for (int64_t w = reach; w >= 0; --w) {
        p[static_cast<size_t>(w + r)] += p[static_cast<size_t>(w)] * 0.5L;
        p[static_cast<size_t>(w)] *= 0.5L;
      }
      reach += r;
    }
    long double tail = 0;
    for (int64_t w = 0; w <= low; ++w) tail += p[static_cast<size_t>(w)];
    return std::min(1.0, static_cast<double>(2 * tail));
  }
  // Normal approximation with the tie correction (ranks in their own units).
  double mean = 0, var = 0;
  for (double r : ranks) mean += r / 2, var += r * r / 4;
  const double z = (static_cast<double>(low) / 2 - mean) / std::sqrt(var);
  return std::min(1.0, std::erfc(-z / std::sqrt(2.0)));
}

PairedComparison compare_paired(const std::vector<double>& a, const std::vector<double>& b, double confidence,
                                int resamples, uint64_t seed) {
  if (a.size() != b.size() || a.empty())
    throw std::invalid_argument("compare_paired: needs two equally long, non-empty lists of measurements");
  PairedComparison c;
  c.n = static_cast<int>(a.size());
  c.confidence = confidence;
  std::vector<double> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  c.mean_diff = std::accumulate(d.begin(), d.end(), 0.0) / static_cast<double>(d.size());
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, d.size() - 1);
  std::vector<double> means(static_cast<size_t>(std::max(resamples, 1)));
  for (double& m : means) {
    double sum = 0;
    for (size_t k = 0; k < d.size(); ++k) sum += d[pick(rng)];
    m = sum / static_cast<double>(d.size());
  }
  std::sort(means.begin(), means.end());
  const double alpha = (1 - confidence) / 2;
  auto quantile = [&](double q) {
    const double at = q * static_cast<double>(means.size() - 1);
    const size_t i = static_cast<size_t>(std::floor(at));
    const size_t j = std::min(i + 1, means.size() - 1);
    return means[i] + (at - static_cast<double>(i)) * (means[j] - means[i]);
  };
  c.ci_low = quantile(alpha);
  c.ci_high = quantile(1 - alpha);
  c.wilcoxon_p = wilcoxon_signed_rank_p(d);
  return c;
}

}  // namespace losscc::search
